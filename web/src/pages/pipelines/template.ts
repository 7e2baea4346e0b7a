// The YAML a new pipeline starts from: a small, valid two-route pipeline
// (scan a folder, convert and segment what it finds) to edit from.
export const NEW_PIPELINE_TEMPLATE = `version: "1.0"
description: >
  Read the Markdown, HTML and text files of a folder, convert them to
  Markdown and cut them into segments. Pass the folder as the payload's
  \`root\` (an absolute path).

defaults:
  error_handling: { max_retries: 2, retry_delay: 1s, backoff: exponential, dead_letter: true }

routes:
  scan:
    name: Scan folder
    inbound: { queue: my.scan, concurrency: 1 }
    adapters:
      - type: file_source
        config:
          include: ["**/*.md", "**/*.html", "**/*.txt"]
          max_files: 1000
    outbound: [ { queue: my.convert } ]

  convert:
    name: Convert to Markdown segments
    inbound: { queue: my.convert, concurrency: 2 }
    adapters:
      - type: storage_retriever
      - type: html_to_markdown
      - type: markdown_storage_writer
      - type: smart_segmenter
        config: { max_tokens: 512, min_tokens: 64 }

init_message:
  route: scan
  payload: { root: "" }
`;
