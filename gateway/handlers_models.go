package gateway

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/models"
)

// ModelRegistry is what the ML-engineer routes need of the model registry.
type ModelRegistry interface {
	List() []models.ModelStatus
	Push(ctx context.Context, name, modelPath, manifestPath string, audit models.PushAudit) (models.Pushed, error)
	Validate(ctx context.Context, name, version string) (*models.EvalResult, error)
	Activate(ctx context.Context, name, version string) error
	Canary(ctx context.Context, name, version string, percent int) error
	Shadow(ctx context.Context, name, version string) error
	Rollback(ctx context.Context, name string) error
	Latest(ctx context.Context, name string) error
}

// modelRoutes owns the ML engineers' model-registry routes (/v1/models…): the list of
// models, pushes, validation and the audited routing changes.
type modelRoutes struct {
	errorWriter
	reg   ModelRegistry // nil: the routes answer 503
	trail auditTrail
}

func (r *modelRoutes) registry() (ModelRegistry, error) {
	if r.reg == nil {
		return nil, fmt.Errorf("%w: no model repository configured", errUnavailable)
	}
	return r.reg, nil
}

func (r *modelRoutes) listModels(c *gin.Context) {
	reg, err := r.registry()
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"models": reg.List()})
}

// modelStatus answers with the model's status after a change.
func (r *modelRoutes) modelStatus(c *gin.Context, reg ModelRegistry, name string, extra gin.H) {
	for _, m := range reg.List() {
		if m.Name == name {
			out := gin.H{"model": m}
			for k, v := range extra {
				out[k] = v
			}
			c.JSON(http.StatusOK, out)
			return
		}
	}
	r.fail(c, fmt.Errorf("%w: model %q", models.ErrNotFound, name))
}

type modelChange struct {
	Version string `json:"version"`
	Percent int    `json:"percent"`
}

// changeModel runs one routing change: activate, canary, shadow, rollback or latest.
func (r *modelRoutes) changeModel(op string) gin.HandlerFunc {
	return func(c *gin.Context) {
		reg, err := r.registry()
		if err != nil {
			r.fail(c, err)
			return
		}
		name := c.Param("model")
		var body modelChange
		if op == "activate" || op == "canary" || op == "shadow" {
			if err := bind(c, &body); err != nil {
				r.fail(c, err)
				return
			}
		}
		ctx := c.Request.Context()
		switch op {
		case "activate":
			if body.Version == "" {
				r.fail(c, fmt.Errorf("%w: version is required", errBadRequest))
				return
			}
			err = reg.Activate(ctx, name, body.Version)
		case "canary":
			if body.Percent != 0 && body.Version == "" {
				r.fail(c, fmt.Errorf("%w: version is required (percent 0 ends the canary)", errBadRequest))
				return
			}
			err = reg.Canary(ctx, name, body.Version, body.Percent)
		case "shadow":
			err = reg.Shadow(ctx, name, body.Version)
		case "rollback":
			err = reg.Rollback(ctx, name)
		case "latest":
			err = reg.Latest(ctx, name)
		}
		if err != nil {
			r.fail(c, err)
			return
		}
		r.log.InfoContext(ctx, "model routing changed", "model", name, "op", op, "version", body.Version,
			"percent", body.Percent, "by", claimsOf(c).Subject)
		if err := r.trail.AppendAudit(ctx, nil, claimsOf(c).Subject, "model."+op, "model:"+name,
			modelChange{Version: body.Version, Percent: body.Percent}); err != nil {
			r.log.WarnContext(ctx, "audit model change", "err", err)
		}
		r.modelStatus(c, reg, name, nil)
	}
}

func (r *modelRoutes) validateModel(c *gin.Context) {
	reg, err := r.registry()
	if err != nil {
		r.fail(c, err)
		return
	}
	res, err := reg.Validate(c.Request.Context(), c.Param("model"), c.Param("version"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"valid": true, "eval": res})
}

// pushModel takes a multipart upload: "model" (the .onnx file), "manifest"
// (manifest.yaml) and any further files the manifest names ("files", by file name).
func (r *modelRoutes) pushModel(c *gin.Context) {
	reg, err := r.registry()
	if err != nil {
		r.fail(c, err)
		return
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		r.fail(c, fmt.Errorf("%w: want multipart/form-data with model and manifest parts", errBadRequest))
		return
	}
	dir, err := os.MkdirTemp("", "switchboard-push-")
	if err != nil {
		r.fail(c, err)
		return
	}
	defer os.RemoveAll(dir)
	got := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.fail(c, fmt.Errorf("%w: multipart: %v", errBadRequest, err))
			return
		}
		name, err := uploadName(part)
		if err != nil {
			r.fail(c, err)
			return
		}
		if err := saveUpload(filepath.Join(dir, name), part); err != nil {
			r.fail(c, err)
			return
		}
		got[name] = true
	}
	if !got[models.ModelFile] || !got[models.ManifestFile] {
		r.fail(c, fmt.Errorf("%w: both a model part and a manifest part are required", errBadRequest))
		return
	}
	name, by := c.Param("model"), claimsOf(c).Subject
	audit := func(ctx context.Context, p models.Pushed) error { // before the version is published
		return r.trail.AppendAudit(ctx, nil, by, "model.push", "model:"+p.Model, p)
	}
	p, err := reg.Push(c.Request.Context(), name, filepath.Join(dir, models.ModelFile), filepath.Join(dir, models.ManifestFile), audit)
	if err != nil {
		r.fail(c, err)
		return
	}
	r.log.InfoContext(c.Request.Context(), "model version pushed", "model", name, "version", p.Version, "sha256", p.SHA256, "by", by)
	c.JSON(http.StatusCreated, gin.H{"model": name, "version": p.Version, "sha256": p.SHA256})
}

// uploadName is where a part is saved: model and manifest under their fixed names,
// other files under their own base name.
func uploadName(p *multipart.Part) (string, error) {
	switch p.FormName() {
	case "model":
		return models.ModelFile, nil
	case "manifest":
		return models.ManifestFile, nil
	case "files":
		base := filepath.Base(p.FileName())
		if base == "." || base == "/" || strings.HasPrefix(base, ".") || base == models.ModelFile || base == models.ManifestFile {
			return "", fmt.Errorf("%w: file name %q", errBadRequest, p.FileName())
		}
		return base, nil
	}
	return "", fmt.Errorf("%w: unknown part %q (want model, manifest, files)", errBadRequest, p.FormName())
}

func saveUpload(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
