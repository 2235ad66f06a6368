//go:build tools

// Package crdgen names the API types controller-gen reads, so that go.mod keeps their module.
package crdgen

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
