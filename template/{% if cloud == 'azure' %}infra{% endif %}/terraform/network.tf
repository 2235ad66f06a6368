# VNet: a subnet for nodes (egress through a NAT gateway) and one for private endpoints of the data
# services (a service that needs its own, delegated subnet makes it in its file); every subnet has a
# network security group.

resource "azurerm_virtual_network" "main" {
  name                = local.prefix
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = [var.network_cidr]
  tags                = local.tags
}

resource "azurerm_subnet" "nodes" {
  name                 = "nodes"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [cidrsubnet(var.network_cidr, 4, 0)]
}

resource "azurerm_subnet" "endpoints" {
  name                              = "private-endpoints"
  resource_group_name               = azurerm_resource_group.main.name
  virtual_network_name              = azurerm_virtual_network.main.name
  address_prefixes                  = [cidrsubnet(var.network_cidr, 8, 16)]
  private_endpoint_network_policies = "Enabled"
}

resource "azurerm_network_security_group" "main" {
  for_each = {
    nodes     = azurerm_subnet.nodes.id
    endpoints = azurerm_subnet.endpoints.id
  }

  name                = "${local.prefix}-${each.key}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_subnet_network_security_group_association" "main" {
  for_each = {
    nodes     = azurerm_subnet.nodes.id
    endpoints = azurerm_subnet.endpoints.id
  }

  subnet_id                 = each.value
  network_security_group_id = azurerm_network_security_group.main[each.key].id
}

resource "azurerm_public_ip" "nat" {
  name                = "${local.prefix}-nat"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = ["1", "2", "3"]
  tags                = local.tags
}

resource "azurerm_nat_gateway" "main" {
  name                = local.prefix
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku_name            = "Standard"
  tags                = local.tags
}

resource "azurerm_nat_gateway_public_ip_association" "main" {
  nat_gateway_id       = azurerm_nat_gateway.main.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "nodes" {
  subnet_id      = azurerm_subnet.nodes.id
  nat_gateway_id = azurerm_nat_gateway.main.id
}
