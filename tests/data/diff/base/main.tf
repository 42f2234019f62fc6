# The system before the change: an encrypted, private database whose
# backups are kept one day only.
provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = {
      owner          = "platform@example.com"
      change_request = "OPS-100"
      approved_by    = "cto@example.com"
    }
  }
}

resource "aws_cloudtrail" "main" {
  name                          = "main"
  s3_bucket_name                = "audit-logs"
  is_multi_region_trail         = true
  enable_log_file_validation    = true
  kms_key_id                    = "arn:aws:kms:eu-west-1:111122223333:key/audit"
  include_global_service_events = true
}

resource "aws_security_group" "db" {
  name   = "orders-db"
  vpc_id = "vpc-0123456789abcdef0"

  ingress {
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }
}

resource "aws_db_instance" "orders" {
  identifier                      = "orders"
  engine                          = "postgres"
  engine_version                  = "16.3"
  instance_class                  = "db.t4g.medium"
  allocated_storage               = 20
  storage_encrypted               = true
  backup_retention_period         = 1
  vpc_security_group_ids          = [aws_security_group.db.id]
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
