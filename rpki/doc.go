// Package rpki holds validated ROA payloads (VRPs) as immutable table snapshots and answers RFC 6811
// origin validation from them. Snapshots come from a VRP JSON file (rpki-client / StayRTR format,
// ParseJSON) or from RTR caches (Client: RFC 8210 and RFC 6810, with the ASPA PDU of
// draft-ietf-sidrops-8210bis in version 2; the codec is in pdu.go), with an RFC 8416 SLURM file
// applied on top (SLURM). Each change yields a new snapshot that shares the unchanged parts of the
// previous one, and the VRP prefixes that changed, so the RIB can swap the data in and revalidate
// only the routes those prefixes cover. Store holds a current snapshot for import policy (it
// implements policy.OriginValidator). docs/rpki.md is the operator's view.
package rpki
