package mockapi

import "fmt"

// eventStatuses are the values events.status takes.
var eventStatuses = []string{"new", "processed", "ignored"}

func renderEvent(o *obj, c *recCtx) {
	s, v := c.stable, c.vary
	typ := pick(s, []string{"page_view", "click", "signup", "purchase", "logout"})
	o.Str("type", typ)
	o.Str("status", eventStatuses[min(int(c.ver)-1, 1)+v.intn(2)])
	if s.chance(0.2) {
		o.Null("user_id")
	} else {
		o.Int("user_id", int64(1+s.intn(1000)))
	}
	o.Str("session", fmt.Sprintf("s-%016x", hash(c.seed, uint64(c.id), 7)))
	o.Obj("properties", func(p *obj) {
		p.Str("path", pick(s, []string{"/", "/pricing", `/caf\u00e9`, "/docs/getting-started", "/cart"}))
		if s.chance(0.5) {
			p.Null("referrer")
		} else {
			p.Str("referrer", pick(s, []string{"https://example.org/", "https://news.example.com/?q=r\\u00e9sum\\u00e9"}))
		}
		p.Obj("device", func(d *obj) {
			d.Str("os", pick(s, []string{"linux", "macos", "windows", "ios", "android"}))
			d.Str("browser", pick(s, []string{"firefox", "chrome", "safari"}))
		})
	})
	o.Strs("tags", []string{"beta", "mobile", "campaign-\\u00e9t\\u00e9"}[:v.intn(4)])
	o.Int("duration_ms", int64(s.intn(120000)))
	if typ == "purchase" {
		o.Raw("value", pick(v, decimals))
	} else {
		o.Null("value")
	}
	o.Time("occurred_at", c.created)
	o.Time("created_at", c.created)
	o.Time("updated_at", c.upd)
	o.Int("version", int64(c.ver))
}

// productStatuses are the values products.status takes.
var productStatuses = []string{"draft", "active", "archived"}

func renderProduct(o *obj, c *recCtx) {
	s, v := c.stable, c.vary
	o.Str("sku", fmt.Sprintf("SKU-%05d", c.id))
	title := pick(s, []string{`Caf\u00e9 Cr\u00e8me`, `Cr\u00e8me Br\u00fbl\u00e9e Kit`, `Pi\u00f1ata`,
		`Na\u00efve Art Print`, `Jalape\u00f1o Sauce`, "Sm\u00f6rg\u00e5sbord Platter", "Plain Mug", `\u65e5\u672c\u8336 Tea`})
	o.Str("title", fmt.Sprintf("%s #%d", title, c.id))
	status := productStatuses[min(int(c.ver), 2)]
	if c.ver > 1 && v.chance(0.5) {
		status = "active"
	}
	o.Str("status", status)
	o.Raw("price", pick(v, decimals))
	o.Str("currency", pick(s, currencies))
	o.Raw("weight_kg", fmt.Sprintf("%d.%d", s.intn(20), s.intn(10)))
	o.Obj("dimensions", func(d *obj) {
		d.Int("width_cm", int64(1+s.intn(100)))
		d.Int("height_cm", int64(1+s.intn(100)))
		d.Int("depth_cm", int64(1+s.intn(100)))
	})
	cats := []string{"kitchen", "garden", "office", "toys", `caf\u00e9`}
	i := s.intn(len(cats))
	o.Strs("categories", cats[i:min(len(cats), i+1+s.intn(3))])
	if status == "archived" {
		o.Time("discontinued_at", c.upd)
	} else {
		o.Null("discontinued_at")
	}
	o.Int("stock", int64(v.intn(500)))
	if s.chance(0.3) {
		o.Null("rating")
	} else {
		o.Raw("rating", fmt.Sprintf("%d.%d", 1+v.intn(4), v.intn(10)))
	}
	o.Time("created_at", c.created)
	o.Time("updated_at", c.upd)
	o.Int("version", int64(c.ver))
}

// ticketStatuses are the values tickets.status takes.
var ticketStatuses = []string{"open", "pending", "solved", "closed"}

func renderTicket(o *obj, c *recCtx) {
	s, v := c.stable, c.vary
	subj := pick(s, []string{`R\u00e9sum\u00e9 upload fails`, `Launch \ud83d\ude80 delayed`, `Caf\u00e9 menu wrong`,
		"Cannot log in", `Invoice \u20ac amount off`, `Na\u00efve question about the API`, `Tab\there`})
	o.Str("subject", subj)
	o.Str("status", ticketStatuses[min(int(c.ver)-1, 3)])
	o.Str("priority", pick(v, []string{"low", "normal", "normal", "high", "urgent"}))
	rid := 1 + s.intn(1000)
	o.Obj("requester", func(r *obj) {
		r.Int("id", int64(rid))
		r.Str("name", pick(s, firstNames)+" "+pick(s, lastNames))
		r.Str("email", fmt.Sprintf("user%d@example.com", rid))
	})
	if c.ver == 1 {
		o.Null("assignee_id")
	} else {
		o.Int("assignee_id", int64(1+v.intn(50)))
	}
	o.Strs("tags", []string{"billing", "login", "vip", `\u00e9t\u00e9`}[:s.intn(5)])
	if c.ver < 3 {
		o.Null("satisfaction")
	} else {
		o.Raw("satisfaction", pick(v, []string{"1.5", "3.0", "4.5", "5.0", "0.1"}))
	}
	o.Int("comments_count", int64(c.ver-1+int32(v.intn(3))))
	o.Time("created_at", c.created)
	o.Time("updated_at", c.upd)
	o.Int("version", int64(c.ver))
}

// certificateStatuses are the values certificates.status takes.
var certificateStatuses = []string{"active", "pending", "expired", "cancelled"}

func renderCertificate(o *obj, c *recCtx) {
	s, v := c.stable, c.vary
	eff := c.created + int32(s.intn(30*86400))
	o.Str("policy_number", fmt.Sprintf("POL-%d-%06d", fromSec(c.created).Year(), c.id))
	status := certificateStatuses[min(int(c.ver)-1, 1)+v.intn(3)]
	o.Str("status", status)
	o.Str("coverage_type", pick(s, []string{"auto_liability", "cargo", "general_liability", "workers_comp"}))
	o.Cents("coverage_limit", int64(pick(s, []int{750000, 1000000, 2000000, 5000000}))*100)
	o.Cents("premium", int64(50000+v.intn(2000000)))
	o.Obj("carrier", func(r *obj) {
		r.Str("name", pick(s, lastNames)+" Trucking")
		r.Int("dot_number", int64(1000000+s.intn(3000000)))
		r.Str("mc_number", fmt.Sprintf("MC-%06d", s.intn(1000000)))
	})
	o.Obj("insurer", func(r *obj) {
		r.Str("name", pick(s, []string{`Soci\u00e9t\u00e9 G\u00e9n\u00e9rale d\u2019Assurances`, "Progressive", "Great West Casualty", `M\u00fcnchener R\u00fcck`}))
		r.Int("naic", int64(10000+s.intn(90000)))
	})
	o.Date("effective_date", eff)
	o.Date("expiration_date", eff+365*86400)
	o.Strs("endorsements", []string{"MCS-90", "additional_insured", "waiver_of_subrogation"}[:v.intn(4)])
	if status == "cancelled" {
		o.Time("cancelled_at", c.upd)
	} else {
		o.Null("cancelled_at")
	}
	o.Time("created_at", c.created)
	o.Time("updated_at", c.upd)
	o.Int("version", int64(c.ver))
}

// countries is a small static reference list (no cursor, no pagination).
var countries = []string{
	`{"id":1,"code":"AR","name":"Argentina","region":"Americas","population":46044703,"area_km2":2780400.0,"languages":["es"],"capital":"Buenos Aires","calling_code":"+54"}`,
	`{"id":2,"code":"AU","name":"Australia","region":"Oceania","population":26638544,"area_km2":7692024.0,"languages":["en"],"capital":"Canberra","calling_code":"+61"}`,
	`{"id":3,"code":"AX","name":"\u00c5land Islands","region":"Europe","population":30344,"area_km2":1580.0,"languages":["sv"],"capital":"Mariehamn","calling_code":"+358"}`,
	`{"id":4,"code":"BR","name":"Brazil","region":"Americas","population":203062512,"area_km2":8515767.0,"languages":["pt"],"capital":"Bras\u00edlia","calling_code":"+55"}`,
	`{"id":5,"code":"CA","name":"Canada","region":"Americas","population":40097761,"area_km2":9984670.0,"languages":["en","fr"],"capital":"Ottawa","calling_code":"+1"}`,
	`{"id":6,"code":"CH","name":"Switzerland","region":"Europe","population":8902308,"area_km2":41285.0,"languages":["de","fr","it","rm"],"capital":"Bern","calling_code":"+41"}`,
	`{"id":7,"code":"CI","name":"C\u00f4te d\u2019Ivoire","region":"Africa","population":29389150,"area_km2":322463.0,"languages":["fr"],"capital":"Yamoussoukro","calling_code":"+225"}`,
	`{"id":8,"code":"CW","name":"Cura\u00e7ao","region":"Americas","population":150563,"area_km2":444.0,"languages":["nl","pap","en"],"capital":"Willemstad","calling_code":"+599"}`,
	`{"id":9,"code":"DE","name":"Germany","region":"Europe","population":84482267,"area_km2":357588.0,"languages":["de"],"capital":"Berlin","calling_code":"+49"}`,
	`{"id":10,"code":"DK","name":"Denmark","region":"Europe","population":5946984,"area_km2":42933.0,"languages":["da"],"capital":"K\u00f8benhavn","calling_code":"+45"}`,
	`{"id":11,"code":"FR","name":"France","region":"Europe","population":68042591,"area_km2":551695.0,"languages":["fr"],"capital":"Paris","calling_code":"+33"}`,
	`{"id":12,"code":"IN","name":"India","region":"Asia","population":1428627663,"area_km2":3287263.0,"languages":["hi","en"],"capital":"New Delhi","calling_code":"+91"}`,
	`{"id":13,"code":"JP","name":"Japan","region":"Asia","population":124516650,"area_km2":377975.0,"languages":["ja"],"capital":"\u6771\u4eac","calling_code":"+81"}`,
	`{"id":14,"code":"NG","name":"Nigeria","region":"Africa","population":223804632,"area_km2":923768.0,"languages":["en"],"capital":"Abuja","calling_code":"+234"}`,
	`{"id":15,"code":"NR","name":"Nauru","region":"Oceania","population":12780,"area_km2":21.1,"languages":["na","en"],"capital":null,"calling_code":"+674"}`,
	`{"id":16,"code":"NZ","name":"New Zealand","region":"Oceania","population":5223100,"area_km2":268021.0,"languages":["en","mi"],"capital":"Wellington","calling_code":"+64"}`,
	`{"id":17,"code":"RE","name":"R\u00e9union","region":"Africa","population":873102,"area_km2":2511.0,"languages":["fr"],"capital":"Saint-Denis","calling_code":"+262"}`,
	`{"id":18,"code":"ST","name":"S\u00e3o Tom\u00e9 and Pr\u00edncipe","region":"Africa","population":231856,"area_km2":964.0,"languages":["pt"],"capital":"S\u00e3o Tom\u00e9","calling_code":"+239"}`,
	`{"id":19,"code":"US","name":"United States","region":"Americas","population":334914895,"area_km2":9833520.0,"languages":["en"],"capital":"Washington, D.C.","calling_code":"+1"}`,
	`{"id":20,"code":"VN","name":"Vi\u1ec7t Nam","region":"Asia","population":98858950,"area_km2":331212.0,"languages":["vi"],"capital":"H\u00e0 N\u1ed9i","calling_code":"+84"}`,
}
