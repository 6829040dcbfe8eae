package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// Staff sign-ins (/v1/staff…): an administrator lists the console's sign-ins (never their
// password hashes), creates one, and changes one's role, password or whether it is
// disabled, as `switchboard users` does on the command line. Every change is audited and
// moves the account's epoch on, so the tokens it gave out stop working within
// Options.SessionRecheck. An administrator cannot take their own admin role away or
// disable themselves: another administrator (or the command line) can.

// staffAccounts: the staff sign-ins an administrator keeps (*tickets.Store).
type staffAccounts interface {
	ListStaffAccounts(ctx context.Context) ([]tickets.StaffAccount, error)
	CreateStaffAccount(ctx context.Context, actor string, a tickets.StaffAccount) (tickets.StaffAccount, error)
	ChangeStaffAccount(ctx context.Context, actor, subject string, ch tickets.StaffChange) (tickets.StaffAccount, error)
}

// staffView is a sign-in as the API shows it.
type staffView struct {
	Subject   string    `json:"subject"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewOf(a tickets.StaffAccount) staffView {
	return staffView{Subject: a.Subject, Role: a.Role, Disabled: a.Disabled, UpdatedAt: a.UpdatedAt}
}

// staffRole checks a role a sign-in may be given.
func staffRole(role string) error {
	if !slices.Contains(Roles, Role(role)) || Role(role) == RoleCustomer {
		return fmt.Errorf("%w: role %q: want agent, supervisor, admin, ml-engineer or auditor", errBadRequest, role)
	}
	return nil
}

func (r *adminRoutes) staffStore() (staffAccounts, error) {
	if r.accounts == nil {
		return nil, fmt.Errorf("%w: this server keeps no staff sign-ins", errUnavailable)
	}
	return r.accounts, nil
}

func (r *adminRoutes) listStaff(c *gin.Context) {
	st, err := r.staffStore()
	if err != nil {
		r.fail(c, err)
		return
	}
	list, err := st.ListStaffAccounts(c.Request.Context())
	if err != nil {
		r.fail(c, err)
		return
	}
	out := make([]staffView, len(list))
	for i, a := range list {
		out[i] = viewOf(a)
	}
	c.JSON(http.StatusOK, gin.H{"accounts": out})
}

func (r *adminRoutes) createStaff(c *gin.Context) {
	var in struct {
		Subject  string `json:"subject"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	st, err := r.staffStore()
	if err == nil {
		err = staffRole(in.Role)
	}
	if err != nil {
		r.fail(c, err)
		return
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		r.fail(c, err)
		return
	}
	a, err := st.CreateStaffAccount(c.Request.Context(), claimsOf(c).Subject, tickets.StaffAccount{Subject: in.Subject, Role: in.Role, PasswordHash: hash})
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, viewOf(a))
}

// changeStaff applies one change to the sign-in of the path's :id.
func (r *adminRoutes) changeStaff(c *gin.Context, ch tickets.StaffChange) {
	st, err := r.staffStore()
	if err != nil {
		r.fail(c, err)
		return
	}
	a, err := st.ChangeStaffAccount(c.Request.Context(), claimsOf(c).Subject, c.Param("id"), ch)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewOf(a))
}

// ownLockout refuses an administrator's change that would lock themselves out.
func ownLockout(c *gin.Context, what string) error {
	if cl := claimsOf(c); cl.Subject == c.Param("id") && cl.Role == RoleAdmin {
		return fmt.Errorf("you cannot %s your own sign-in; another administrator can: %w", what, tickets.ErrConflict)
	}
	return nil
}

func (r *adminRoutes) setStaffRole(c *gin.Context) {
	var in struct {
		Role string `json:"role"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	err := staffRole(in.Role)
	if err == nil && in.Role != string(RoleAdmin) {
		err = ownLockout(c, "take the admin role from")
	}
	if err != nil {
		r.fail(c, err)
		return
	}
	r.changeStaff(c, tickets.StaffChange{Role: in.Role})
}

func (r *adminRoutes) setStaffPassword(c *gin.Context) {
	var in struct {
		Password string `json:"password"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		r.fail(c, err)
		return
	}
	r.changeStaff(c, tickets.StaffChange{PasswordHash: hash})
}

func (r *adminRoutes) setStaffDisabled(c *gin.Context) {
	var in struct {
		Disabled *bool `json:"disabled"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	var err error
	switch {
	case in.Disabled == nil:
		err = fmt.Errorf("%w: disabled (true or false) is required", errBadRequest)
	case *in.Disabled:
		err = ownLockout(c, "disable")
	}
	if err != nil {
		r.fail(c, err)
		return
	}
	r.changeStaff(c, tickets.StaffChange{Disabled: in.Disabled})
}
