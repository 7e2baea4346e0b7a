/** Citation is one retrieved passage of an answer: `[n]` cites sources[n-1]. */
export interface Citation {
  index: number;
  segment_id: string;
  document_id: string;
  execution_id: string;
  storage_key?: string;
  markdown_key?: string;
  url?: string;
  title?: string;
  heading?: string;
  snippet: string;
  score: number;
  source?: string;
  model?: string;
  cited: boolean;
}

export function citationsOf(v: unknown): Citation[] {
  return Array.isArray(v) ? (v as Citation[]) : [];
}
