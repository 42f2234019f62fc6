# A module planned once with `terraform plan -refresh=false`; plan.json
# is its `terraform show -json` output (see tests/plan.rs).

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "mock"
  secret_key                  = "mock"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true

  default_tags {
    tags = {
      owner          = "platform-team"
      change_request = "OPS-4211"
    }
  }
}

variable "retention_days" {
  type    = number
  default = 3
}

resource "aws_db_instance" "records" {
  count                           = 2
  identifier                      = "records-${count.index}"
  engine                          = "postgres"
  instance_class                  = "db.t3.micro"
  allocated_storage               = 20
  username                        = "records"
  password                        = "not-a-real-password"
  storage_encrypted               = false
  backup_retention_period         = var.retention_days
  enabled_cloudwatch_logs_exports = ["postgresql"]
  skip_final_snapshot             = true

  tags = {
    approved_by = "jane.doe"
  }
}

resource "aws_kms_key" "data" {
  enable_key_rotation = true
}

resource "aws_s3_bucket" "data" {
  bucket = "acme-plan-data"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-plan-logs"
}

resource "aws_ebs_volume" "scratch" {
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = false
}

module "cache" {
  source     = "./modules/cache"
  name       = "sessions"
  encryption = false
}
