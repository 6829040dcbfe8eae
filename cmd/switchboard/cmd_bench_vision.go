package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway/visionbench"
	"github.com/switchboard-cs/switchboard/models"
)

func benchVisionCmd(f *rootFlags) *cobra.Command {
	var iters, clients, maxBatch int
	var seconds float64
	var model, data string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "vision",
		Short: "Per-image latency through the gateway against a raw ONNX Runtime run, and batching throughput",
		Long: `Classifies a 1-megapixel JPEG through POST /v1/vision/classify of an in-process gateway
(HTTP, decode, preprocessing, model registry, inference) and compares the latency with a
raw onnxruntime_go AdvancedSession.Run on the same input tensor, alternating the two in
the same run. Then measures images per second with --clients concurrent requests, with
dynamic batching (max batch --max-batch) and without. The model is the ResNet50 that
'make models' puts into the model repository (--model: a version folder).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if model == "" {
				model = filepath.Join(cfg.ModelsDir(), "resnet50", "1")
			}
			if _, err := os.Stat(filepath.Join(model, models.ModelFile)); err != nil {
				return fmt.Errorf("no ResNet50 at %s (run make models, or pass --model DIR): %w", model, err)
			}
			if data == "" {
				data, _ = findSharedData()
			}
			res, err := visionbench.Run(cmd.Context(), visionbench.Options{Model: model, Data: data, Iterations: iters, Clients: clients,
				MaxBatch: maxBatch, Duration: time.Duration(seconds * float64(time.Second)), ORTLib: cfg.Models.ONNXRuntimeLib, Session: sessionOptions(cfg)})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "gateway p50 %.2f ms p99 %.2f ms; raw p50 %.2f ms; overhead ratio %.3f; "+
				"throughput %d clients: %.1f/s unbatched, %.1f/s batched (×%.2f)\n",
				res.P50Ms, res.P99Ms, res.RawP50Ms, res.OverheadRatio, res.Clients, res.UnbatchedPS, res.BatchedPS, res.BatchRatio)
			return nil
		},
	}
	cmd.Flags().IntVar(&iters, "iterations", 60, "sequential images for the latency comparison (each side)")
	cmd.Flags().IntVar(&clients, "clients", 8, "concurrent requests for the throughput comparison")
	cmd.Flags().IntVar(&maxBatch, "max-batch", 8, "dynamic batching: largest batch")
	cmd.Flags().Float64Var(&seconds, "seconds", 8, "seconds per throughput run")
	cmd.Flags().StringVar(&model, "model", "", "version folder with model.onnx and manifest.yaml (default <models.dir>/resnet50/1)")
	cmd.Flags().StringVar(&data, "data", "", "shared data folder (a photo is upscaled to 1 Mpx; default: found beside the checkout, else a synthetic image)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
