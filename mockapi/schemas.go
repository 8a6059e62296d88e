package mockapi

// Schemas returns a JSON Schema (draft-07) document per stream name,
// certificates included. Records as served validate against them, except
// the users records Options.Drift renames on purpose.
func (s *Server) Schemas() map[string][]byte {
	out := make(map[string][]byte, len(defs))
	for _, d := range defs {
		out[d.name] = []byte(d.schema)
	}
	return out
}

const schemaUsers = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/users.json",
  "title": "users",
  "type": "object",
  "required": ["id", "login", "name", "email", "status", "score", "profile", "roles", "manager_id", "last_login_at", "created_at", "updated_at", "version"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "login": {"type": "string", "minLength": 1},
    "name": {"type": "string"},
    "email": {"type": "string", "format": "email"},
    "status": {"type": "string", "enum": ["active", "inactive", "suspended", "pending"]},
    "score": {"type": "number"},
    "profile": {
      "type": "object",
      "required": ["city", "country", "timezone"],
      "properties": {
        "city": {"type": "string"},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "timezone": {"type": "string"}
      }
    },
    "roles": {"type": "array", "items": {"type": "string", "enum": ["viewer", "editor", "admin", "billing"]}},
    "manager_id": {"type": ["integer", "null"]},
    "last_login_at": {"type": ["string", "null"], "format": "date-time"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "minimum": 1}
  }
}
`

const schemaOrders = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/orders.json",
  "title": "orders",
  "type": "object",
  "required": ["id", "number", "user_id", "status", "currency", "amount", "tax_rate", "external_ref", "ledger_seq", "lines", "shipping", "coupon", "paid_at", "created_at", "updated_at", "version"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "number": {"type": "string", "pattern": "^ORD-[0-9]{8}$"},
    "user_id": {"type": "integer"},
    "status": {"type": "string", "enum": ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]},
    "currency": {"type": "string", "enum": ["EUR", "USD", "GBP", "JPY"]},
    "amount": {"type": "number", "minimum": 0},
    "tax_rate": {"type": "number", "minimum": 0, "maximum": 1},
    "external_ref": {"type": "integer", "description": "above 2^53: must not pass through a float64"},
    "ledger_seq": {"type": "integer", "description": "near the int64 maximum"},
    "lines": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "required": ["sku", "qty", "unit_price"],
        "properties": {
          "sku": {"type": "string"},
          "qty": {"type": "integer", "minimum": 1},
          "unit_price": {"type": "number"}
        }
      }
    },
    "shipping": {
      "type": "object",
      "required": ["method", "address"],
      "properties": {
        "method": {"type": "string", "enum": ["standard", "express", "pickup"]},
        "address": {
          "type": "object",
          "required": ["line1", "city", "postcode", "country"],
          "properties": {
            "line1": {"type": "string"},
            "city": {"type": "string"},
            "postcode": {"type": "string"},
            "country": {"type": "string"}
          }
        }
      }
    },
    "coupon": {"type": ["string", "null"]},
    "paid_at": {"type": ["string", "null"], "format": "date-time"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "minimum": 1}
  }
}
`

const schemaEvents = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/events.json",
  "title": "events",
  "type": "object",
  "required": ["id", "type", "status", "user_id", "session", "properties", "tags", "duration_ms", "value", "occurred_at", "created_at", "updated_at", "version"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "type": {"type": "string", "enum": ["page_view", "click", "signup", "purchase", "logout"]},
    "status": {"type": "string", "enum": ["new", "processed", "ignored"]},
    "user_id": {"type": ["integer", "null"]},
    "session": {"type": "string"},
    "properties": {
      "type": "object",
      "required": ["path", "referrer", "device"],
      "properties": {
        "path": {"type": "string"},
        "referrer": {"type": ["string", "null"]},
        "device": {
          "type": "object",
          "required": ["os", "browser"],
          "properties": {"os": {"type": "string"}, "browser": {"type": "string"}}
        }
      }
    },
    "tags": {"type": "array", "items": {"type": "string"}},
    "duration_ms": {"type": "integer", "minimum": 0},
    "value": {"type": ["number", "null"]},
    "occurred_at": {"type": "string", "format": "date-time"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "minimum": 1}
  }
}
`

const schemaProducts = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/products.json",
  "title": "products",
  "type": "object",
  "required": ["id", "sku", "title", "status", "price", "currency", "weight_kg", "dimensions", "categories", "discontinued_at", "stock", "rating", "created_at", "updated_at", "version"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "sku": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "string", "enum": ["draft", "active", "archived"]},
    "price": {"type": "number", "minimum": 0},
    "currency": {"type": "string", "enum": ["EUR", "USD", "GBP", "JPY"]},
    "weight_kg": {"type": "number", "minimum": 0},
    "dimensions": {
      "type": "object",
      "required": ["width_cm", "height_cm", "depth_cm"],
      "properties": {
        "width_cm": {"type": "integer"},
        "height_cm": {"type": "integer"},
        "depth_cm": {"type": "integer"}
      }
    },
    "categories": {"type": "array", "items": {"type": "string"}},
    "discontinued_at": {"type": ["string", "null"], "format": "date-time"},
    "stock": {"type": "integer", "minimum": 0},
    "rating": {"type": ["number", "null"], "minimum": 0, "maximum": 5},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "minimum": 1}
  }
}
`

const schemaTickets = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/tickets.json",
  "title": "tickets",
  "type": "object",
  "required": ["id", "subject", "status", "priority", "requester", "assignee_id", "tags", "satisfaction", "comments_count", "created_at", "updated_at", "version"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "subject": {"type": "string"},
    "status": {"type": "string", "enum": ["open", "pending", "solved", "closed"]},
    "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
    "requester": {
      "type": "object",
      "required": ["id", "name", "email"],
      "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"}
      }
    },
    "assignee_id": {"type": ["integer", "null"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "satisfaction": {"type": ["number", "null"]},
    "comments_count": {"type": "integer", "minimum": 0},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "minimum": 1}
  }
}
`

const schemaCountries = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/countries.json",
  "title": "countries",
  "type": "object",
  "additionalProperties": false,
  "required": ["id", "code", "name", "region", "population", "area_km2", "languages", "capital", "calling_code"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "code": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "name": {"type": "string"},
    "region": {"type": "string", "enum": ["Africa", "Americas", "Asia", "Europe", "Oceania"]},
    "population": {"type": "integer", "minimum": 0},
    "area_km2": {"type": "number", "minimum": 0},
    "languages": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "capital": {"type": ["string", "null"]},
    "calling_code": {"type": "string", "pattern": "^\\+[0-9]+$"}
  }
}
`

const schemaCertificates = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://rawland.dev/schemas/mockapi/certificates.json",
  "title": "certificates",
  "type": "object",
  "required": ["id", "policy_number", "status", "coverage_type", "coverage_limit", "premium", "carrier", "insurer", "effective_date", "expiration_date", "endorsements", "cancelled_at", "created_at", "updated_at", "version"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "policy_number": {"type": "string", "pattern": "^POL-[0-9]{4}-[0-9]{6,}$"},
    "status": {"type": "string", "enum": ["active", "pending", "expired", "cancelled"]},
    "coverage_type": {"type": "string", "enum": ["auto_liability", "cargo", "general_liability", "workers_comp"]},
    "coverage_limit": {"type": "number", "minimum": 0},
    "premium": {"type": "number", "minimum": 0},
    "carrier": {
      "type": "object",
      "required": ["name", "dot_number", "mc_number"],
      "properties": {
        "name": {"type": "string"},
        "dot_number": {"type": "integer"},
        "mc_number": {"type": "string"}
      }
    },
    "insurer": {
      "type": "object",
      "required": ["name", "naic"],
      "properties": {"name": {"type": "string"}, "naic": {"type": "integer"}}
    },
    "effective_date": {"type": "string", "format": "date"},
    "expiration_date": {"type": "string", "format": "date"},
    "endorsements": {"type": "array", "items": {"type": "string"}},
    "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "minimum": 1}
  }
}
`
