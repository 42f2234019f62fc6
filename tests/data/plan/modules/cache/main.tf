variable "name" {
  type = string
}

variable "encryption" {
  type    = bool
  default = true
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "session cache"
  engine                     = "redis"
  node_type                  = "cache.t3.micro"
  num_cache_clusters         = 1
  at_rest_encryption_enabled = var.encryption
  transit_encryption_enabled = true
  snapshot_retention_limit   = 7

  tags = {
    approved_by = "jane.doe"
  }
}

output "id" {
  value = aws_elasticache_replication_group.this.id
}
