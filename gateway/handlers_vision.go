package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/flow"
)

// visionRoutes owns POST /v1/vision/classify.
type visionRoutes struct {
	errorWriter
	classifier flow.ImageClassifier // nil: the vision stage is off (503)
	media      *flow.MediaBudget    // memory of uploads in flight (nil: unbounded)
	maxImage   int64                // Options.MaxImageBytes
	// reserve is the upload memory of a body (Server.reservationFor).
	reserve func(contentLength, most, part int64) int64
}

// classifyImage labels one image: the raw bytes as the body (image/jpeg, image/png, …) or
// a multipart form with an "image" file. The answer names the model version.
func (r *visionRoutes) classifyImage(c *gin.Context) {
	if r.classifier == nil {
		r.fail(c, fmt.Errorf("%w: the vision stage is off (no image-classification model; see switchboard doctor)", errUnavailable))
		return
	}
	hold, err := r.media.HoldUpload(c.Request.Context(), r.reserve(c.Request.ContentLength, r.maxImage+64<<10, r.maxImage))
	if err != nil {
		r.fail(c, err)
		return
	}
	defer hold.Release()
	data, err := imageBody(c, r.maxImage)
	if err != nil {
		r.fail(c, err)
		return
	}
	res, err := r.classifier.Classify(c.Request.Context(), data)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// imageBody reads the image of a classify request, streamed (at most limit bytes): the
// raw body, or the "image" part of a multipart form.
func imageBody(c *gin.Context, limit int64) ([]byte, error) {
	if isMultipart(c) {
		mr, err := c.Request.MultipartReader()
		if err != nil {
			return nil, fmt.Errorf("%w: multipart: %v", errBadRequest, err)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: multipart form needs an image file part", errBadRequest)
			}
			if err != nil {
				return nil, bodyError(err)
			}
			if part.FormName() == "image" {
				data, err := readPart(part, limit, limit)
				if err != nil {
					return nil, partError("image", limit, err)
				}
				return data, nil
			}
		}
	}
	data, err := readPart(c.Request.Body, limit, limit)
	if err != nil {
		return nil, partError("image", limit, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: send the image as the body or as a multipart image part", errBadRequest)
	}
	return data, nil
}
