package mockapi

import "fmt"

// Stream names served by the mock upstream.
const (
	StreamUsers        = "users"        // pagination link (RFC 8288), body is the array
	StreamOrders       = "orders"       // pagination offset, records under "data"
	StreamEvents       = "events"       // pagination cursor with has_more
	StreamProducts     = "products"     // pagination page, records under "items"
	StreamTickets      = "tickets"      // pagination next_url (field "next")
	StreamCountries    = "countries"    // no pagination, no cursor, static
	StreamCertificates = "certificates" // delta queue, plus a paged full listing
)

// streamDef describes one stream: where it is served, how a record is
// rendered, and its JSON Schema.
type streamDef struct {
	name   string
	salt   uint64
	path   string
	render func(o *obj, c *recCtx)
	static []string // fixed records (rendered whole), for countries
	schema string
}

// recCtx is one record version being rendered.
type recCtx struct {
	ref
	seed   uint64
	salt   uint64
	drift  float64
	stable *rng // draws that depend on (seed, stream, id) only
	vary   *rng // draws that change with every version
}

func (c *recCtx) reset(r ref) {
	c.ref = r
	c.stable = newRng(c.seed, c.salt, uint64(r.id))
	c.vary = newRng(c.seed, c.salt, uint64(r.id), uint64(r.ver))
}

// renderer renders records of one stream; not safe for concurrent use.
type renderer struct {
	def *streamDef
	c   recCtx
}

func (s *Server) renderer(def *streamDef) *renderer {
	return &renderer{def: def, c: recCtx{seed: s.seed, salt: def.salt, drift: s.opts.Drift}}
}

// append renders one record as compact JSON, keys in a fixed order.
func (r *renderer) append(b []byte, x ref) []byte {
	if r.def.static != nil {
		return append(b, r.def.static[x.id-1]...)
	}
	r.c.reset(x)
	b = append(b, '{')
	o := &obj{b: &b}
	o.Int("id", int64(x.id))
	r.def.render(o, &r.c)
	return append(b, '}')
}

// appendArray renders records as a JSON array.
func (r *renderer) appendArray(b []byte, xs []ref) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.append(b, x)
	}
	return append(b, ']')
}

// defs lists every stream in the order Config writes them.
var defs = []*streamDef{
	{name: StreamUsers, path: "/users", render: renderUser, schema: schemaUsers},
	{name: StreamOrders, path: "/orders", render: renderOrder, schema: schemaOrders},
	{name: StreamEvents, path: "/events", render: renderEvent, schema: schemaEvents},
	{name: StreamProducts, path: "/products", render: renderProduct, schema: schemaProducts},
	{name: StreamTickets, path: "/tickets", render: renderTicket, schema: schemaTickets},
	{name: StreamCountries, path: "/countries", static: countries, schema: schemaCountries},
	{name: StreamCertificates, path: "/certificates", render: renderCertificate, schema: schemaCertificates},
}

func init() {
	for _, d := range defs {
		d.salt = salt(d.name)
		if d.schema == "" {
			panic(fmt.Sprintf("mockapi: stream %s has no schema", d.name))
		}
	}
}

// Escaped string contents: some characters are written as \uXXXX escapes on
// purpose so that tests can check a landing keeps the bytes exactly.
var (
	firstNames = []string{`Ren\u00e9e`, `Jos\u00e9`, `Zo\u00eb`, `Bj\u00f6rn`, `Fran\u00e7oise`, "Alice", "Bob",
		`Chlo\u00e9`, `\u0141ukasz`, `Ana\u00efs`, `Mar\u00eda`, "Sofia", "Yuki", "Olu", "Priya", `Tom\u00e1s`}
	lastNames = []string{"Dubois", `M\u00fcller`, `Garc\u00eda`, "Nakamura", "Smith", "O'Brien", "Kowalski",
		"Andersson", "Okafor", "Rossi", "Novak", `S\u00f8rensen`, "Nguyen", "Haddad"}
	cities = [][3]string{{`Montr\u00e9al`, "CA", "America/Toronto"}, {`Z\u00fcrich`, "CH", "Europe/Zurich"},
		{`S\u00e3o Paulo`, "BR", "America/Sao_Paulo"}, {"Paris", "FR", "Europe/Paris"},
		{`K\u00f8benhavn`, "DK", "Europe/Copenhagen"}, {"Tokyo", "JP", "Asia/Tokyo"},
		{"Lagos", "NG", "Africa/Lagos"}, {"Austin", "US", "America/Chicago"}}
	streets = []string{`12 Rue de l\u2019\u00c9glise`, "221B Baker Street", `Stra\u00dfe des 17. Juni 135`,
		"1-1 Chiyoda", `Avenida Paulista 1578`, `\"The Loft\", 5 Main St`}
	// decimals are served exactly as written: short decimals that binary
	// floating point cannot hold exactly, and one that it prints oddly.
	decimals   = []string{"0.1", "0.2", "0.3", "1.1", "2.675", "19.99", "1.005", "0.30000000000000004", "100.5", "3.14159", "0.7", "42.42"}
	currencies = []string{"EUR", "USD", "GBP", "JPY"}
)

// userStatuses are the values users.status takes ("enabled" appears only
// through Options.Drift).
var userStatuses = []string{"active", "inactive", "suspended", "pending"}

// DriftedStatus is the renamed users.status value Options.Drift serves.
const DriftedStatus = "enabled"

func renderUser(o *obj, c *recCtx) {
	s, v := c.stable, c.vary
	o.Str("login", fmt.Sprintf("user%d", c.id))
	o.Str("name", pick(s, firstNames)+" "+pick(s, lastNames))
	o.Str("email", fmt.Sprintf("user%d@example.com", c.id))
	status := userStatuses[0]
	if !v.chance(0.6) {
		status = pick(v, userStatuses[1:])
	}
	if c.drift > 0 && unit(hash(c.seed, c.salt, uint64(c.id), uint64(c.ver), salt("drift"))) < c.drift {
		status = DriftedStatus
	}
	o.Str("status", status)
	o.Raw("score", pick(v, decimals))
	city := pick(s, cities)
	o.Obj("profile", func(p *obj) {
		p.Str("city", city[0])
		p.Str("country", city[1])
		p.Str("timezone", city[2])
	})
	o.Strs("roles", []string{"viewer", "editor", "admin", "billing"}[:v.intn(4)])
	if s.chance(0.3) {
		o.Null("manager_id")
	} else {
		o.Int("manager_id", int64(1+s.intn(int(c.id))))
	}
	if c.ver == 1 {
		o.Null("last_login_at")
	} else {
		o.Time("last_login_at", c.upd-int32(v.intn(3600)))
	}
	o.Time("created_at", c.created)
	o.Time("updated_at", c.upd)
	o.Int("version", int64(c.ver))
}

// orderStatuses are the values orders.status takes.
var orderStatuses = []string{"pending", "paid", "shipped", "delivered", "cancelled", "refunded"}

func renderOrder(o *obj, c *recCtx) {
	s, v := c.stable, c.vary
	o.Str("number", fmt.Sprintf("ORD-%08d", c.id))
	o.Int("user_id", int64(1+s.intn(1000)))
	status := orderStatuses[min(int(c.ver)-1+v.intn(2), len(orderStatuses)-1)]
	o.Str("status", status)
	o.Str("currency", pick(s, currencies))
	n := 1 + s.intn(3)
	qty, price := make([]int64, n), make([]int64, n)
	var total int64
	for i := range n {
		qty[i], price[i] = int64(1+v.intn(4)), int64(99+s.intn(9900))
		total += qty[i] * price[i]
	}
	o.Cents("amount", total)
	o.Raw("tax_rate", pick(s, []string{"0.2", "0.1", "0.055", "0.07"}))
	o.Int("external_ref", 9007199254740993+2*int64(c.id%1000)) // above 2^53: not a float64
	o.Int("ledger_seq", 9223372036854775807-int64(c.id))       // near the int64 maximum
	o.Objs("lines", n, func(i int, e *obj) {
		e.Str("sku", fmt.Sprintf("SKU-%05d", 1+(int(c.id)*7+i)%99999))
		e.Int("qty", qty[i])
		e.Cents("unit_price", price[i])
	})
	street, city := pick(s, streets), pick(s, cities)
	o.Obj("shipping", func(sh *obj) {
		sh.Str("method", pick(s, []string{"standard", "express", "pickup"}))
		sh.Obj("address", func(a *obj) {
			a.Str("line1", street)
			a.Str("city", city[0])
			a.Str("postcode", fmt.Sprintf("%05d", s.intn(100000)))
			a.Str("country", city[1])
		})
	})
	if s.chance(0.8) {
		o.Null("coupon")
	} else {
		o.Str("coupon", pick(s, []string{"SAVE10", "WELCOME", "VIP\\u00e9t\\u00e9"}))
	}
	if status == "pending" || status == "cancelled" {
		o.Null("paid_at")
	} else {
		o.Time("paid_at", min(c.upd, c.created+int32(60+s.intn(86400))))
	}
	o.Time("created_at", c.created)
	o.Time("updated_at", c.upd)
	o.Int("version", int64(c.ver))
}
