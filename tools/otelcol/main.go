// Command otelcol-mini is an OpenTelemetry collector for the tests, at the release of the
// pinned collector image (v0.115.0). It has the components that the cells' collectors and
// the gateway's OTLP receiver use: the otlp receiver and exporter, the memory_limiter,
// batch and resource processors, and the health_check extension. Its debug exporter
// prints what the gateway receives.
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

func components() (otelcol.Factories, error) {
	var err error
	factories := otelcol.Factories{}
	factories.Receivers, err = receiver.MakeFactoryMap(otlpreceiver.NewFactory())
	if err != nil {
		return factories, err
	}
	factories.Processors, err = processor.MakeFactoryMap(
		batchprocessor.NewFactory(), memorylimiterprocessor.NewFactory(), resourceprocessor.NewFactory())
	if err != nil {
		return factories, err
	}
	factories.Extensions, err = extension.MakeFactoryMap(healthcheckextension.NewFactory())
	if err != nil {
		return factories, err
	}
	factories.Exporters, err = exporter.MakeFactoryMap(
		otlpexporter.NewFactory(), debugexporter.NewFactory())
	return factories, err
}

func main() {
	info := component.BuildInfo{Command: "otelcol-mini", Description: "collector for the project's tests", Version: "0.1.0"}
	settings := otelcol.CollectorSettings{
		BuildInfo: info,
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(), envprovider.NewFactory(),
				},
				DefaultScheme: "env",
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatal(err)
	}
}
