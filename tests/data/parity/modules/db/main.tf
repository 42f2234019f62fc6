# The database every environment calls, with its own variables.
variable "name" {
  type = string
}

variable "engine_version" {
  type = string
}

variable "instance_class" {
  type = string
}

variable "encrypted" {
  type = bool
}

resource "aws_db_instance" "main" {
  identifier                          = var.name
  engine                              = "postgres"
  engine_version                      = var.engine_version
  instance_class                      = var.instance_class
  allocated_storage                   = 100
  storage_encrypted                   = var.encrypted
  backup_retention_period             = 14
  publicly_accessible                 = false
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  tags = {
    change_request = "OPS-7"
    approved_by    = "cto@example.com"
    owner          = "platform"
    source         = path.module
  }
}
