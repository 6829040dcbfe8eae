package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/vision"
)

// ImageClassifier labels a photo (vision/ over the model registry).
type ImageClassifier interface {
	Classify(ctx context.Context, image []byte) (vision.Result, error)
}

// classifyImage labels one image: the raw bytes as the body (image/jpeg, image/png, …) or
// a multipart form with an "image" file. The answer names the model version.
func (s *Server) classifyImage(c *gin.Context) {
	if s.opts.Vision == nil {
		s.fail(c, fmt.Errorf("%w: the vision stage is off (no image-classification model; see switchboard doctor)", errUnavailable))
		return
	}
	data, err := imageBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.opts.Vision.Classify(c.Request.Context(), data)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// imageBody reads the image of a classify request.
func imageBody(c *gin.Context) ([]byte, error) {
	ct := c.GetHeader("Content-Type")
	if strings.HasPrefix(ct, "multipart/form-data") {
		fh, err := c.FormFile("image")
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: multipart form needs an image file part", errBadRequest)
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	data, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: send the image as the body or as a multipart image part", errBadRequest)
	}
	return data, nil
}
