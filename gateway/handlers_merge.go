package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// mergeTicket closes ticket :id as a duplicate of the ticket "into" names (tickets.Merge:
// the agent holding both, or the survivor when the duplicate waits in their group, or a
// supervisor, also across customers). The answer is the duplicate as closed (with
// merged_into) and the survivor ("into").
func (r *ticketRoutes) mergeTicket(c *gin.Context) {
	var in struct {
		Into string `json:"into"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	dup, into, err := r.tickets.Merge(c.Request.Context(), actorOf(c), c.Param("id"), in.Into)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": dup, "into": into})
}
