# Names, tags, the resource group and facts every other file reads.

locals {
  prefix = "${var.name}-${var.environment}"

  # Globally unique names (Key Vault, registry, data services) end with this suffix.
  unique = "${var.name}-${random_string.suffix.result}"

  tags = merge(var.labels, {
    project     = var.name
    environment = var.environment
    managed-by  = "terraform"
  })
}

data "azurerm_client_config" "current" {}

resource "random_string" "suffix" {
  length  = 6
  special = false
  upper   = false
}

resource "azurerm_resource_group" "main" {
  name     = local.prefix
  location = var.region
  tags     = local.tags
}
