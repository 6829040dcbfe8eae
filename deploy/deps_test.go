package deploy_test

import (
	_ "github.com/compose-spec/compose-go/v2/loader"
	_ "helm.sh/helm/v4/pkg/chart/loader"
	_ "k8s.io/api/apps/v1"
	_ "sigs.k8s.io/yaml"
)
