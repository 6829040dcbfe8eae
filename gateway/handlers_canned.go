package gateway

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// Canned responses (/v1/canned-responses…): an agent lists the shared ones and their
// own, keeps their own, and inserts one into a reply by its shortcut, filled in for the
// ticket (/v1/tickets/:id/canned/:shortcut); supervisors keep the shared ones.

// cannedInput is a canned response as a client writes it.
type cannedInput struct {
	Shortcut string `json:"shortcut"`
	Lang     string `json:"lang"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	Shared   bool   `json:"shared"` // the team's, not the writer's own (supervisors)
}

func (in cannedInput) response(id int64) tickets.CannedResponse {
	return tickets.CannedResponse{ID: id, Shortcut: in.Shortcut, Lang: in.Lang, Title: in.Title, Body: in.Body}
}

func (r *ticketRoutes) listCanned(c *gin.Context) {
	list, err := r.tickets.CannedResponses(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"canned_responses": nonNil(list), "variables": tickets.CannedVariables})
}

func (r *ticketRoutes) createCanned(c *gin.Context) {
	var in cannedInput
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	out, err := r.tickets.PutCanned(c.Request.Context(), actorOf(c), in.response(0), in.Shared)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (r *ticketRoutes) updateCanned(c *gin.Context) {
	id, err := cannedID(c)
	if err != nil {
		r.fail(c, err)
		return
	}
	var in cannedInput
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	out, err := r.tickets.PutCanned(c.Request.Context(), actorOf(c), in.response(id), in.Shared)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (r *ticketRoutes) deleteCanned(c *gin.Context) {
	id, err := cannedID(c)
	if err != nil {
		r.fail(c, err)
		return
	}
	if err := r.tickets.DeleteCanned(c.Request.Context(), actorOf(c), id); err != nil {
		r.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// renderCanned fills in a canned response for a ticket the caller sees; ?lang= (zh, en)
// picks the variant in the customer's language.
func (r *ticketRoutes) renderCanned(c *gin.Context) {
	out, err := r.tickets.RenderCanned(c.Request.Context(), actorOf(c), c.Param("id"), c.Param("shortcut"), c.Query("lang"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func cannedID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: canned response id %q: a positive number", errBadRequest, c.Param("id"))
	}
	return id, nil
}
