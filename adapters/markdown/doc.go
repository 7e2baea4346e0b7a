// Package markdown holds the document adapters: loading stored content,
// converting HTML to Markdown, writing Markdown to storage, cutting it into
// heading- and token-aware segments, and fanning segments out one message
// each.
//
// Within a route's chain content travels in the payload; between routes it
// travels as storage keys, because broker messages are limited in size.
package markdown
