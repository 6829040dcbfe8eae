package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/vision"
)

// evaluators are the registry's evaluation runners, by task.
func evaluators(cfg config.Config) map[string]models.Evaluator {
	return map[string]models.Evaluator{vision.Task: vision.Evaluator{Limits: visionLimits(cfg)}}
}

func visionLimits(cfg config.Config) vision.Limits {
	return vision.Limits{MaxBytes: cfg.Vision.MaxBytes, MaxPixels: cfg.Vision.MaxPixels}
}

// openVision builds the classifier of the vision stage over reg: vision.model, or the
// first image-classification model serving. Without one it returns nil and the reason.
func openVision(cfg config.Config, reg *models.Registry, mem vision.MemoryLimiter) (*vision.Classifier, error) {
	name := cfg.Vision.Model
	if name == "" {
		for _, m := range reg.List() {
			if m.Task == vision.Task {
				name = m.Name
				break
			}
		}
	}
	if name == "" {
		return nil, fmt.Errorf("no image-classification model serves in %s (push a trained one with switchboard models push; make models gives an untrained ResNet50 for benchmarks)", cfg.ModelsDir())
	}
	cats, err := visionCategories(cfg)
	if err != nil {
		return nil, err
	}
	return vision.NewClassifier(reg, vision.Options{Model: name, Limits: visionLimits(cfg), TopK: cfg.Vision.TopK, Categories: cats, Memory: mem}), nil
}

// visionCategories reads vision.categories_file: a YAML map from category to labels.
func visionCategories(cfg config.Config) (vision.Categories, error) {
	if cfg.Vision.CategoriesFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(cfg.Vision.CategoriesFile)
	if err != nil {
		return nil, fmt.Errorf("vision.categories_file: %w", err)
	}
	var cats vision.Categories
	if err := yaml.Unmarshal(data, &cats); err != nil {
		return nil, fmt.Errorf("vision.categories_file %s: %w", cfg.Vision.CategoriesFile, err)
	}
	if err := cats.Validate(); err != nil {
		return nil, fmt.Errorf("vision.categories_file %s: %w", cfg.Vision.CategoriesFile, err)
	}
	return cats, nil
}

// visionReady is the optional readiness check of the vision stage.
func visionReady(clf *vision.Classifier, why error, reg *models.Registry) func(context.Context) error {
	return func(context.Context) error {
		if clf == nil {
			return why
		}
		lease, err := reg.Acquire(clf.Model())
		if err != nil {
			return err
		}
		lease.Release()
		return nil
	}
}

func visionCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "vision", Short: "Classify images with the repository's image-classification model"}
	var asJSON bool
	classify := &cobra.Command{
		Use: "classify FILE", Short: "Label one image (JPEG, PNG, WebP, GIF)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(a[0])
			if err != nil {
				return err
			}
			reg, err := openModels(cmd.Context(), cfg, nil, nil)
			if err != nil {
				return err
			}
			defer reg.Close()
			clf, err := openVision(cfg, reg, nil)
			if err != nil {
				return err
			}
			res, err := clf.Classify(cmd.Context(), data)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %dx%d — model %s version %s\n", res.Format, res.Width, res.Height, res.Model, res.Version)
			for _, l := range res.Labels {
				fmt.Fprintf(cmd.OutOrStdout(), "  %5.1f%%  %s", 100*l.Score, l.Name)
				if l.Category != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "  → %s", l.Category)
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
	classify.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(classify)
	return cmd
}
