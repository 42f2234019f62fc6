#!/usr/bin/env python3
"""A synthetic monorepo for measuring provcheck at scale (issue 19).

Writes a tree of about FILES files in the shape large infrastructure
monorepos have: shared Terraform modules called from many root modules,
variables and tfvars, `count` and `for_each`, linked resources (a bucket
and its encryption configuration), and per service Kubernetes manifests,
a compose file, a Dockerfile and a README that nothing checks. Some
values break the baselines on purpose, so the run has findings to report.

Usage:
    scripts/monorepo.py DIR [--files N]     (default 100000)

The tree is deterministic: the same N gives the same bytes. DIR must not
exist or be empty.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Files each service writes: its root module (main.tf, variables.tf,
# outputs.tf, terraform.tfvars), two Kubernetes manifests, a compose
# file, a Dockerfile, an application config that is not infrastructure
# and a README.
FILES_PER_SERVICE = 10
MODULES = 40
ENVIRONMENTS = ["dev", "qa", "staging", "prod"]


def module_files(i: int) -> dict[str, str]:
    """Shared module `mod{i}`: a database, a bucket with its linked
    encryption, a security group per port (for_each), replicas (count)."""
    engine = ["postgres", "mysql", "mariadb"][i % 3]
    port = {"postgres": 5432, "mysql": 3306, "mariadb": 3306}[engine]
    return {
        "variables.tf": f"""variable "name" {{
  type = string
}}

variable "environment" {{
  type = string
}}

variable "encrypted" {{
  type    = bool
  default = true
}}

variable "backup_days" {{
  type    = number
  default = 7
}}

variable "replicas" {{
  type    = number
  default = 1
}}

variable "ports" {{
  type    = map(number)
  default = {{ db = {port}, admin = 8443 }}
}}

variable "tags" {{
  type    = map(string)
  default = {{}}
}}
""",
        "main.tf": f"""locals {{
  tags = merge(var.tags, {{
    module      = "mod{i}"
    environment = var.environment
  }})
  identifier = "${{var.name}}-mod{i}-${{var.environment}}"
}}

resource "aws_db_instance" "primary" {{
  identifier                      = local.identifier
  engine                          = "{engine}"
  instance_class                  = "db.t3.medium"
  allocated_storage               = 20
  storage_encrypted               = var.encrypted
  backup_retention_period         = var.backup_days
  publicly_accessible             = false
  multi_az                        = var.environment == "prod"
  enabled_cloudwatch_logs_exports = ["{'postgresql' if engine == 'postgres' else 'audit'}"]
  vpc_security_group_ids          = [for sg in aws_security_group.ports : sg.id]
  tags                            = local.tags
}}

resource "aws_db_instance" "replica" {{
  count               = var.replicas
  identifier          = "${{local.identifier}}-replica-${{count.index}}"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = "db.t3.medium"
  publicly_accessible = false
  tags                = local.tags
}}

resource "aws_security_group" "ports" {{
  for_each = var.ports
  name     = "${{local.identifier}}-${{each.key}}"

  ingress {{
    from_port   = each.value
    to_port     = each.value
    protocol    = "tcp"
    cidr_blocks = [each.key == "admin" && var.environment == "dev" ? "0.0.0.0/0" : "10.0.0.0/8"]
  }}

  tags = local.tags
}}

resource "aws_s3_bucket" "data" {{
  bucket = "${{local.identifier}}-data"
  tags   = local.tags
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {{
  bucket = aws_s3_bucket.data.id

  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm = "aws:kms"
    }}
  }}
}}

resource "aws_s3_bucket_public_access_block" "data" {{
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}
""",
        "outputs.tf": """output "endpoint" {
  value = aws_db_instance.primary.endpoint
}

output "bucket" {
  value = aws_s3_bucket.data.bucket
}
""",
    }


def service_files(s: int) -> dict[str, str]:
    """Service `svc{s}`: a root module calling two shared modules, and
    its container manifests."""
    env = ENVIRONMENTS[s % len(ENVIRONMENTS)]
    first, second = s % MODULES, (s * 7 + 3) % MODULES
    encrypted = "false" if s % 9 == 0 else "true"
    backups = 1 if s % 5 == 0 else 14
    name = f"svc{s}"
    image = ["nginx:1.27", "python:3.12-slim", "node:22-alpine", "golang:1.23"][s % 4]
    return {
        "main.tf": f"""terraform {{
  required_version = ">= 1.5"
}}

provider "aws" {{
  region = var.region

  default_tags {{
    tags = {{
      change_request = var.change_request
      approved_by    = "platform-lead"
      owner          = "team-{s % 31}"
    }}
  }}
}}

module "store" {{
  source      = "../../modules/mod{first}"
  name        = var.name
  environment = var.environment
  encrypted   = {encrypted}
  backup_days = var.backup_days
  replicas    = {s % 3}
}}

module "cache" {{
  source      = "../../modules/mod{second}"
  name        = "${{var.name}}-cache"
  environment = var.environment
  tags        = {{ tier = "backend" }}
}}

resource "aws_ebs_volume" "scratch" {{
  count             = var.environment == "prod" ? 2 : 1
  availability_zone = "${{var.region}}a"
  size              = 50
  encrypted         = {"false" if s % 7 == 0 else "true"}
}}
""",
        "variables.tf": """variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "name" {
  type = string
}

variable "environment" {
  type = string
}

variable "backup_days" {
  type    = number
  default = 7
}

variable "change_request" {
  type = string
}
""",
        "outputs.tf": """output "endpoint" {
  value = module.store.endpoint
}

output "cache_endpoint" {
  value = module.cache.endpoint
}
""",
        "terraform.tfvars": f"""name           = "{name}"
environment    = "{env}"
backup_days    = {backups}
change_request = "CR-{1000 + s}"
""",
        "k8s/deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {env}
  labels:
    app: {name}
    tier: backend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
        tier: backend
    spec:
      containers:
        - name: api
          image: registry.example.com/{name}:1.{s % 20}.0
          ports:
            - containerPort: 8080
          env:
            - name: DATABASE_URL
              value: postgres://{name}-db:5432/app?sslmode={'disable' if s % 8 == 0 else 'require'}
""",
        "k8s/service.yaml": f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {env}
spec:
  type: {'LoadBalancer' if s % 13 == 0 else 'ClusterIP'}
  selector:
    app: {name}
  ports:
    - port: 80
      targetPort: 8080
""",
        "compose.yaml": f"""services:
  web:
    image: nginx:1.27
    ports:
      - "8080:80"
    depends_on:
      - api
  api:
    build: .
    environment:
      DB_HOST: db
  db:
    image: postgres:16
    {'ports:' if s % 6 == 0 else 'expose:'}
      - "5432{':5432' if s % 6 == 0 else ''}"
""",
        "Dockerfile": f"""FROM {image}
WORKDIR /app
COPY . .
{'USER app' if s % 4 else ''}
CMD ["./start"]
""",
        "config/app.json": f'{{"service": "{name}", "port": 8080}}\n',
        "README.md": f"# {name}\n\nOwned by team-{s % 31}.\n",
    }


def write(root: Path, folder: str, files: dict[str, str]) -> tuple[int, int]:
    count = size = 0
    for name, text in files.items():
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        count += 1
        size += len(text)
    return count, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    root: Path = args.dir
    if root.exists() and any(root.iterdir()):
        print(f"{root} is not empty", file=sys.stderr)
        return 2
    root.mkdir(parents=True, exist_ok=True)
    count = size = 0
    for i in range(MODULES):
        c, b = write(root, f"modules/mod{i}", module_files(i))
        count, size = count + c, size + b
    services = max(1, (args.files - count) // FILES_PER_SERVICE)
    for s in range(services):
        c, b = write(root, f"services/svc{s}", service_files(s))
        count, size = count + c, size + b
    print(f"{root}: {count} files ({services} services, {MODULES} modules), {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
