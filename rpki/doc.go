// Package rpki holds validated ROA payloads (VRPs) as immutable table snapshots and answers RFC 6811
// origin validation from them. A snapshot comes from a VRP JSON file (rpki-client / StayRTR
// format, ParseJSON) or, later, from RTR caches; Store holds the current snapshot and is what import
// policy reads (it implements policy.OriginValidator), so swapping in new data is one atomic store
// followed by a re-evaluation walk in the RIB.
package rpki
