# Names, tags and facts every other file reads.

locals {
  prefix = "${var.name}-${var.environment}"
  azs    = slice(data.aws_availability_zones.available.names, 0, 3)

  tags = merge(var.labels, {
    project     = var.name
    environment = var.environment
    managed-by  = "terraform"
  })
}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Zone names differ per account and region (us-west-1 has two), so no fixed allowlist fits; local.azs takes the first three in name order, and zones AWS adds later sort after them.
  state = "available"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
