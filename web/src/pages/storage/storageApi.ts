// Storage helpers shared by the storage browser's parts: URLs of objects
// (keys hold slashes, which the API wants path-escaped as %2F), content
// fetching with the API token, and what kind of preview an object gets.
import { ApiError, api, authHeaders, unwrap, type Schemas } from '../../api/client';

/** Largest object the preview downloads; bigger ones only get a download link. */
export const PREVIEW_LIMIT = 2 * 1024 * 1024;

/** Objects per page of the object list. */
export const PAGE_SIZE = 50;

export function objectUrl(key: string): string {
  return `/api/v1/storage/objects/${encodeURIComponent(key)}`;
}

export function archiveDownloadUrl(job: string): string {
  return `/api/v1/content/archive/${encodeURIComponent(job)}/download`;
}

/** baseName is the last segment of a key or prefix ("a/b/" → "b"). */
export function baseName(keyOrPrefix: string): string {
  const trimmed = keyOrPrefix.endsWith('/') ? keyOrPrefix.slice(0, -1) : keyOrPrefix;
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}

/** parentPrefix is the folder holding a key ("a/b/c.md" → "a/b/", "a.md" → ""). */
export function parentPrefix(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? '' : trimmed.slice(0, i + 1);
}

/** ancestors lists the prefixes above and including prefix ("a/b/" → ["a/", "a/b/"]). */
export function ancestors(prefix: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const i = prefix.indexOf('/', at);
    if (i < 0) break;
    out.push(prefix.slice(0, i + 1));
    at = i + 1;
  }
  return out;
}

export type PreviewKind = 'markdown' | 'html' | 'json' | 'text' | 'binary';

const textExtensions = new Set([
  'txt', 'text', 'log', 'csv', 'tsv', 'yaml', 'yml', 'toml', 'ini', 'xml', 'jsonl', 'ndjson', 'go', 'py', 'js',
  'ts', 'tsx', 'css', 'sql', 'sh', 'rst', 'adoc',
]);

/** previewKind decides how an object is shown from its type, then its extension. */
export function previewKind(key: string, contentType?: string | null): PreviewKind {
  const ct = (contentType ?? '').toLowerCase().split(';')[0].trim();
  const ext = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1).toLowerCase() : '';
  if (ct.includes('markdown') || ext === 'md' || ext === 'markdown') return 'markdown';
  if (ct === 'text/html' || ct === 'application/xhtml+xml' || ext === 'html' || ext === 'htm') return 'html';
  if (ct === 'application/json' || ct.endsWith('+json') || ext === 'json') return 'json';
  if (ct.startsWith('text/') || ct.includes('yaml') || ct.includes('xml') || ct.includes('ndjson') || ct.includes('javascript')) {
    return 'text';
  }
  if (textExtensions.has(ext)) return 'text';
  return 'binary';
}

async function problemOf(res: Response): Promise<ApiError> {
  let problem;
  try {
    problem = await res.json();
  } catch {
    problem = undefined;
  }
  return new ApiError(res.status, problem);
}

/** fetchObjectText reads an object's bytes as text. */
export async function fetchObjectText(key: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(objectUrl(key), { headers: authHeaders(), signal });
  if (!res.ok) throw await problemOf(res);
  return res.text();
}

export type StorageList = Schemas['StorageList'];

export interface Folder {
  prefix: string;
  /** Described execution behind an executions/<id>/ folder. */
  execution?: Schemas['StorageExecution'];
}

/** fetchFolders lists the sub-folders of prefix (all of them: the API does not page common prefixes). */
export async function fetchFolders(prefix: string): Promise<Folder[]> {
  const data = await unwrap(
    api.GET('/api/v1/storage/objects', {
      params: {
        query: {
          prefix: prefix || undefined,
          delimiter: '/',
          limit: 1,
          include_metadata: false,
          include_execution_info: prefix === 'executions/' ? true : undefined,
        },
      },
    }),
  );
  const byPrefix = new Map((data.execution_prefixes ?? []).map((e) => [e.prefix, e]));
  return (data.common_prefixes ?? []).map((p) => ({ prefix: p, execution: byPrefix.get(p) }));
}

/** fetchObjects lists one page of the objects directly under prefix, with its sub-folders. */
export function fetchObjects(prefix: string, page: number): Promise<StorageList> {
  return unwrap(
    api.GET('/api/v1/storage/objects', {
      params: {
        query: {
          prefix: prefix || undefined,
          delimiter: '/',
          limit: PAGE_SIZE,
          offset: (page - 1) * PAGE_SIZE,
          include_metadata: false,
          include_execution_info: prefix === 'executions/' ? true : undefined,
        },
      },
    }),
  );
}

/** saveUrl downloads a URL; with an API token it fetches the bytes itself (a plain link cannot send the header). */
export async function saveUrl(url: string, filename: string): Promise<void> {
  const res = await fetch(url, { headers: authHeaders() });
  if (!res.ok) throw await problemOf(res);
  const blob = await res.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
