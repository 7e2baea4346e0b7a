// Package storagetest is the contract every storage.Store provider passes.
// A provider's tests call Run with a constructor:
//
//	func TestContract(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return newStoreForTest(t) })
//	}
//
// Every check runs in parallel under its own random key prefix, so
// newStore may return a fresh store per check or one shared store. Keys
// never hold both an object and objects below it ("a" and "a/b"), which
// file systems cannot represent.
package storagetest
