package privacy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Helpers that write rrweb events as JSON, for the privacy tests.

func pq(s string) string { b, _ := json.Marshal(s); return string(b) }

// pel is a serialized element; attrs is the inside of a JSON object.
func pel(id int, tag, attrs string, kids ...string) string {
	return fmt.Sprintf(`{"type":2,"tagName":%q,"attributes":{%s},"childNodes":[%s],"id":%d}`, tag, attrs, strings.Join(kids, ","), id)
}

func ptxt(id int, s string) string {
	return fmt.Sprintf(`{"type":3,"textContent":%s,"id":%d}`, pq(s), id)
}

const pMeta = `{"type":4,"data":{"href":"https://shop.example/checkout","width":1280,"height":720},"timestamp":1000}`

// psnap is a FullSnapshot whose body (id 5) holds body; ids 1-5 are taken.
func psnap(body ...string) string {
	return `{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":1,"name":"html","publicId":"","systemId":"","id":2},` +
		pel(3, "html", `"lang":"en"`, pel(4, "head", ""), pel(5, "body", "", body...)) +
		`]},"initialOffset":{"left":0,"top":0}},"timestamp":1001}`
}

func pmut(body string) string { return `{"type":3,"data":{"source":0,` + body + `},"timestamp":1100}` }

// maskEvent masks one event with a pass, for tests that need no dropping.
func (p *pass) maskEvent(e *Event) error {
	_, err := p.event(e)
	return err
}
