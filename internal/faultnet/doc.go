// Package faultnet puts a TCP proxy between a client and a real server so
// that tests can cut the link and restore it: a broker or database "goes
// away" for one client while the real server keeps running for everyone
// else on the machine. Cutting closes every open connection and refuses
// new ones until Restore.
package faultnet
