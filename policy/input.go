package policy

import (
	"encoding/json"
	"strconv"
)

// appendJSON appends the input's JSON form to b: exactly what
// json.Marshal(in) gives (a test checks they agree), whose SHA-256 is the
// decision's input hash. Written out field by field because encoding/json's
// reflection was a twentieth of a decision.
func (in Input) appendJSON(b []byte) []byte {
	b = appendField(b, `{"subject":`, in.Subject)
	b = appendField(b, `,"loa":`, in.LoA)
	b = appendField(b, `,"purpose":`, in.Purpose)
	b = appendField(b, `,"requester":`, in.Requester)
	b = appendField(b, `,"connector":`, in.Connector)
	b = appendField(b, `,"category":`, in.Category)
	b = appendField(b, `,"source":`, in.Source)
	b = append(b, `,"requested_fields":`...)
	if in.RequestedField == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range in.RequestedField {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
		}
		b = append(b, ']')
	}
	if c := in.Consent; c != nil {
		b = appendField(b, `,"consent":{"id":`, c.ID)
		b = appendField(b, `,"category":`, c.Category)
		b = appendField(b, `,"purpose":`, c.Purpose)
		b = appendField(b, `,"requester":`, c.Requester)
		b = appendField(b, `,"source":`, c.Source)
		b = appendField(b, `,"legal_basis":`, c.LegalBasis)
		b = strconv.AppendBool(append(b, `,"active":`...), c.Active)
		b = strconv.AppendInt(append(b, `,"expires_at":`...), c.ExpiresAt, 10)
		if c.MinInterval != 0 {
			b = strconv.AppendInt(append(b, `,"min_interval":`...), c.MinInterval, 10)
		}
		if c.FromYear != 0 {
			b = strconv.AppendInt(append(b, `,"from_year":`...), c.FromYear, 10)
		}
		if c.ToYear != 0 {
			b = strconv.AppendInt(append(b, `,"to_year":`...), c.ToYear, 10)
		}
		b = append(b, '}')
	}
	if in.LegalBasis != "" {
		b = appendField(b, `,"legal_basis":`, in.LegalBasis)
	}
	if in.Objected {
		b = append(b, `,"objected":true`...)
	}
	if in.LastFetch != 0 {
		b = strconv.AppendInt(append(b, `,"last_fetch":`...), in.LastFetch, 10)
	}
	if in.Period != 0 {
		b = strconv.AppendInt(append(b, `,"period":`...), in.Period, 10)
	}
	b = strconv.AppendInt(append(b, `,"now":`...), in.Now, 10)
	return append(b, '}')
}

func appendField(b []byte, name, s string) []byte {
	return appendString(append(b, name...), s)
}

// appendString appends s as a JSON string. Printable ASCII that needs no
// escape goes as it is; anything else is left to encoding/json, so the
// escaping is always its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
