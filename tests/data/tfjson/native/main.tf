# The same module as ../json/main.tf.json.
variable "retention" {
  type    = number
  default = 1
}

locals {
  name = "app"
}

resource "aws_db_instance" "db" {
  identifier              = "${local.name}-db"
  engine                  = "postgres"
  instance_class          = "db.t3.micro"
  storage_encrypted       = false
  backup_retention_period = var.retention
  tags = {
    Name = "db"
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "app-logs"
}
