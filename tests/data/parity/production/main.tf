# Production: the same modules, its own variables, and a cache staging
# lacks.
module "db" {
  source         = "../modules/db"
  name           = "orders-production"
  engine_version = "16.2"
  instance_class = "db.r6g.large"
  encrypted      = true
}

resource "aws_s3_bucket" "uploads" {
  bucket = "orders-production-uploads"
  tags = {
    change_request = "OPS-7"
    approved_by    = "cto@example.com"
    owner          = "platform"
    root           = path.module
  }
}

resource "aws_elasticache_replication_group" "cache" {
  replication_group_id       = "orders-cache"
  description                = "Session cache"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = "cache.r6g.large"
  num_cache_clusters         = 2
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  snapshot_retention_limit   = 7
  tags = {
    change_request = "OPS-7"
    approved_by    = "cto@example.com"
    owner          = "platform"
  }
}
