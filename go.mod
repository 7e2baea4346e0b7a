module github.com/factflow/factflow

go 1.26.0
