package store

// SemanticSQLForTest is the indexed semantic query of a slot, for EXPLAIN
// in tests ($1 the vector, $2 the limit).
func SemanticSQLForTest(slot string, dims int) string {
	return semanticSQL(EmbeddingModel{Name: slot, Dims: dims}, false, "", 2)
}
