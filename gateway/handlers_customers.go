package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// customerProfile serves the profile of the customer on a ticket: identities across
// channels (masked contacts), tier, recent conversations and tickets, ratings. An agent
// sees the customers of the tickets they may see.
func (r *ticketRoutes) customerProfile(c *gin.Context) {
	p, err := r.tickets.CustomerProfile(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}
