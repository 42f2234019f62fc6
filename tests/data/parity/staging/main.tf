# Staging: one root calling the shared modules with its own variables.
module "db" {
  source         = "../modules/db"
  name           = "orders-staging"
  engine_version = "15.4"
  instance_class = "db.t3.medium"
  encrypted      = false
}

resource "aws_s3_bucket" "uploads" {
  bucket = "orders-staging-uploads"
  tags = {
    change_request = "OPS-7"
    approved_by    = "cto@example.com"
    owner          = "platform"
    root           = path.module
  }
}
