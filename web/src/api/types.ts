// Shapes of the server's JSON (see /api/v1/openapi.json).

export type Role = 'reporter' | 'editor' | 'chief_editor' | 'admin'
export type OutletKind = 'tv' | 'radio' | 'app' | 'wechat' | 'website' | 'newspaper' | 'weibo' | 'other'
export type Scope = 'read' | 'write' | 'admin'

export interface User {
  id: number
  username: string
  display_name: string
  instance_admin: boolean
  roles: Record<string, Role>
  disabled: boolean
  created_at: string
  updated_at: string
}

export interface Session {
  user: User
  csrf_token: string | null
}

export interface Outlet {
  id: number
  slug: string
  name: string
  kind: OutletKind
  created_at: string
  updated_at: string
}

export interface ArticleFields {
  title: string
  subtitle: string
  summary: string
  body: string
  byline: string
  category: string
  tags: string[]
  cover: number | null
}

export interface Article extends ArticleFields {
  id: number
  outlet: number
  revision: number
  status: string
  authors: number[]
  source_id: string | null
  source_date: string | null
  created_by: number
  created_at: string
  updated_by: number
  updated_at: string
  restored_from: number | null
  published_revision: number | null
  published_at: string | null
  retraction: { by: number; at: string; reason: string } | null
}

export interface ArticleSummary {
  id: number
  outlet: number
  revision: number
  status: string
  title: string
  byline: string
  authors: number[]
  category: string
  tags: string[]
  cover: number | null
  created_at: string
  updated_at: string
}

export interface ArticlePage {
  items: ArticleSummary[]
  next_cursor: string | null
}

export interface Version {
  revision: number
  title: string
  updated_by: number
  updated_at: string
  restored_from: number | null
}

export interface DiffLine {
  op: 'equal' | 'insert' | 'delete'
  text: string
}

export interface Diff {
  from: number
  to: number
  lines: DiffLine[]
}

export interface Asset {
  id: number
  outlet: number
  name: string
  mime: string
  kind: 'image' | 'video' | 'audio' | 'document' | string
  size: number
  width: number | null
  height: number | null
  url: string
  thumbnail_url: string | null
  uploaded_by: number
  created_at: string
}

export interface Token {
  id: number
  user: number
  name: string
  scopes: Scope[]
  created_at: string
  expires_at: string | null
  revoked_at: string | null
}

export interface FollowStatus {
  state: 'connecting' | 'following' | 'diverged' | 'error'
  primary: string
  applied_lsn: number
  primary_head: number
  lag_entries: number
  last_contact: number | null
  last_error: string
  bytes: number
  entries: number
  connects: number
}

export interface FederationStatus {
  role: 'primary' | 'replica'
  listen: string | null
  ca_fingerprint: string | null
  follow: FollowStatus | null
  last_contact: string | null
  instance_role: 'county' | 'hub' | 'replica'
  hub: ShipStatus | null
}

/** A county's connection to its provincial hub. */
export interface ShipStatus {
  state: 'connecting' | 'shipping' | 'idle' | 'quarantined' | 'revoked' | 'error'
  hub: string
  hub_lsn: number
  local_lsn: number
  last_contact: number | null
  last_error: string
  shipped: number
  batches: number
  bytes: number
  inbox_seq: number
  messages: number
  inbox_error: string
  cert_not_after: number | null
  renewals: number
}

/** Which counties a reporting instruction is for. */
export interface InstructionTarget {
  kind: 'all' | 'region' | 'counties'
  code?: string
  ids?: string[]
}

/** A reporting instruction (重大报道指令) as issued by the hub. */
/** A file sent with an instruction (`…/attachments/{n}` downloads it). */
export interface InstructionAttachment {
  sha256: string
  name: string
  mime: string
  kind: 'image' | 'audio' | 'video' | 'document'
  size: number
  /** At a county: the file has arrived from the hub. */
  ready: boolean
}

export interface Instruction {
  id: number
  title: string
  brief: string
  deadline: string
  target: InstructionTarget
  issued_at: string
  issued_by: string
  attachments: InstructionAttachment[]
  /** Set when the hub called it off. */
  cancelled_at: string | null
  cancelled_by: string | null
  cancel_reason: string | null
}

export interface InstructionAnswer {
  article: number
  title: string
  by: string
  at: string
}

export interface InstructionProgress {
  delivered_at: string | null
  acknowledged_at: string | null
  acknowledged_by: string
  answers: InstructionAnswer[]
}

/** At the hub: an instruction with how many target counties received, acknowledged, answered. */
export interface IssuedInstruction extends Instruction {
  progress: { targets: number; delivered: number; acknowledged: number; answered: number }
}

export interface InstructionDetail extends Instruction {
  counties: (InstructionProgress & { county: string; name: string; region: string })[]
}

/** At a county: an instruction received from the hub, and what the county did with it. */
export interface InboxInstruction extends Instruction, InstructionProgress {
  received_at: string
}

/** A county enrolled at this hub. */
export interface County {
  id: string
  name: string
  region: string
  fingerprint: string
  not_after: string
  enrolled_at: string
  revoked_at: string | null
  revoke_reason: string | null
  lsn: number
  epoch: number
  last_received: string | null
  quarantined: string | null
  articles: number
  published_7d: number[]
  pending_reviews: number
  unacknowledged: number
  last_contact: string | null
  silent_ms: number | null
  /** The county's log head as it last said, and how many entries the hub lacks. */
  county_head: number | null
  lag_entries: number | null
}

export interface Peer {
  id: string
  role: string
  name: string
  fingerprint: string
  not_after: string
  enrolled_at: string
  revoked_at: string | null
  revoke_reason: string | null
}

export interface PairingCreated {
  token: string
  expires_at: string
  ca_fingerprint: string
}

export interface Instance {
  instance_id: string
  epoch: number
  role: string
  version: string
  log_head: number
  created_at: string
}

/** A piece of text; `hit` marks a match of the query. Rendered as text, never as HTML. */
export interface Segment {
  text: string
  hit: boolean
}

export interface SearchHit extends ArticleSummary {
  /** County scope (hub): where the article comes from; its ids are the county's own. */
  county: { id: string; name: string } | null
  date: string
  score: number
  title_highlight: Segment[]
  snippet: Segment[]
  explanation: unknown
}

export interface Bucket {
  value: string
  label: string
  count: number
}

export interface Facets {
  outlet: Bucket[]
  county: Bucket[]
  category: Bucket[]
  status: Bucket[]
  month: Bucket[]
}

export interface SearchPage {
  total: number
  page: number
  size: number
  hits: SearchHit[]
  facets: Facets | null
  indexed_lsn: number
  took_ms: number
}

export interface Suggestion {
  id: number
  outlet: number
  title: Segment[]
}

export interface SearchStatus {
  state: 'starting' | 'rebuilding' | 'ready' | 'failed'
  schema_version: number
  indexed_lsn: number
  log_lsn: number
  docs: number
  rebuild_reason: string | null
  rebuild_done: number
  rebuild_total: number
  builds: number
  last_error: string | null
}

/** Where a level's reviewers sit: an outlet here, or the provincial hub (省级审核). */
export type Site = { type: 'outlet'; outlet: number } | { type: 'province' }

export type Quorum = { type: 'any' } | { type: 'all' } | { type: 'at_least'; k: number }
export type SendBack = { type: 'author' } | { type: 'level'; index: number }

export interface ChainLevel {
  name: string
  kind: 'review' | 'proofread'
  site: Site
  roles: string[]
  users: number[]
  quorum: Quorum
  deadline_hours: number | null
  send_back: SendBack
  allow_self?: boolean
}

export interface Chain {
  id: number
  outlet: number
  slug: string
  name: string
  version: number
  levels: ChainLevel[]
  is_default: boolean
  enabled: boolean
  updated_by: number | null
  updated_at: string
}

export interface ReviewLevel {
  index: number
  name: string
  kind: 'review' | 'proofread'
  site: Site
  state: 'passed' | 'current' | 'pending'
  approvals: { user: number; at: string; revision: number }[]
  required: number
  eligible: number[]
  deadline_hours: number | null
}

export type LifecycleAction = 'edit' | 'submit' | 'approve' | 'return' | 'escalate' | 'withdraw' | 'publish' | 'correct' | 'retract'

export interface ReviewInfo {
  article: number
  outlet: number
  state: 'open' | 'returned' | 'approved' | 'closed' | null
  chain: Chain | null
  level: number | null
  round: number | null
  due: string | null
  overdue: boolean
  submitted_by: number | null
  submitted_at: string | null
  levels: ReviewLevel[]
  actions: LifecycleAction[]
  names: Record<string, string>
}

export interface QueueItem {
  article: ArticleSummary
  level: number
  level_name: string
  chain_name: string
  round: number
  submitted_at: string
  due: string | null
  overdue: boolean
}

export interface QueuePage {
  items: QueueItem[]
  total: number | null
  next_cursor: string | null
}

export interface AuditRow {
  lsn: number
  at: string
  actor: number | null
  actor_name: string
  kind: string
  article: number | null
  topic?: number | null
  subject: string
  revision: number | null
  from: string | null
  to: string | null
  level: string | null
  comment: string
}

export type TopicState = 'proposed' | 'approved' | 'in_progress' | 'done' | 'rejected' | 'merged' | 'cancelled'
export type TopicMove = 'approve' | 'reject' | 'start' | 'complete' | 'cancel' | 'reopen'
export type Duty = 'reporter' | 'photo' | 'video' | 'editor' | 'other'

export interface TopicAssignment {
  user: number
  name: string
  duty: Duty
  deadline: string | null
  overdue: boolean
  note: string
}

export interface Topic {
  id: number
  outlets: number[]
  title: string
  angle: string
  channels: string[]
  deadline: string | null
  publish_at: string | null
  overdue: boolean
  attachments: number[]
  state: TopicState
  assignments: TopicAssignment[]
  articles: number[]
  merged_into: number | null
  merged_from: number[]
  reason: string
  proposed_by: number
  proposed_by_name: string
  proposed_at: string
  updated_at: string
  revision: number
  moves: TopicMove[]
  can_edit: boolean
  can_decide: boolean
}

export interface TopicColumn {
  state: TopicState
  topics: Topic[]
  count: number
  capped: boolean
  next: string | null
}

export interface TopicBoard {
  columns: TopicColumn[]
}

export interface TopicDetail {
  topic: Topic
  articles: ArticleSummary[]
}

export interface CalendarItem {
  at: string
  kind: 'deadline' | 'publish' | 'assignment'
  topic: number
  people: string[]
}

export interface TopicCalendar {
  items: CalendarItem[]
  topics: Topic[]
}

export type Subject = { kind: 'article' | 'topic'; id: number }

export interface Person {
  id: number
  username: string
  name: string
}

export interface CommentAnchor {
  revision: number
  start: number
  end: number
  quote: string
}

export interface Comment {
  id: number
  on: Subject
  author: number
  author_name: string
  body: string
  mentions: Person[]
  anchor: CommentAnchor | null
  reply_to: number | null
  created_at: string
  edited_at: string | null
  resolved: boolean
  resolved_by_name: string | null
  deleted: boolean
  can_edit: boolean
  can_resolve: boolean
}

export type NoticeKind =
  | 'mention' | 'reply' | 'comment' | 'assigned' | 'topic_moved'
  | 'returned' | 'approved' | 'published' | 'retracted' | 'lock_taken'
  | 'instruction' | 'instruction_changed' | 'provincial_review' | 'county_quarantined' | 'shared_withdrawn'

/** What a notice is about (where clicking it leads). */
export type NoticeOn =
  | Subject
  | { kind: 'instruction'; id: number }
  | { kind: 'provincial_review'; id: { county: string; article: number } }
  | { kind: 'county'; id: string }

export interface Notice {
  lsn: number
  kind: NoticeKind
  at: string
  actor: number | null
  actor_name: string
  on: NoticeOn
  title: string
  excerpt: string
  state: TopicState | null
  read: boolean
}

export interface Inbox {
  items: Notice[]
  unread: number
  next_before: number | null
}

export interface EditLock {
  user: number
  name: string
  since: string
  expires: string
}

export interface LockState {
  lock: EditLock | null
  mine: boolean
  can_take: boolean
  ttl_seconds: number
}

export type Severity = 'hint' | 'review' | 'block'
export type ScreenField = 'title' | 'subtitle' | 'summary' | 'body' | 'alt' | 'tag'
export interface Finding {
  field: ScreenField
  index: number
  /** Character offsets in the field's text. */
  start: number
  end: number
  matched: string
  term: string
  category: string
  severity: Severity
  lexicon: number
}
export type ProofRule = 'wordlist' | 'doubled' | 'punct_width' | 'unpaired' | 'de' | 'number' | 'date' | 'spelling'
export interface Suggestion {
  field: ScreenField
  index: number
  rule: ProofRule
  start: number
  end: number
  text: string
  replacement: string | null
  category: string
}
export interface IgnoredSuggestion {
  rule: ProofRule
  text: string
  by: number
  at: string
}

export interface DraftCheck {
  findings: Finding[]
  suggestions: Suggestion[]
  ignored: IgnoredSuggestion[]
}
export type LexiconKind = 'screen' | 'allow' | 'proof'
export interface Lexicon {
  id: number
  name: string
  kind: LexiconKind
  category: string
  description: string
  source: string
  default_severity: Severity
  enabled: boolean
  disabled_outlets: number[]
  entries: number
  revision: number
  updated_by: number | null
  updated_at: string
  /** On a hub: pushed to every county. */
  provincial: boolean
  /** On a county: the province's list, read-only here. */
  from_province: boolean
}
export interface LexEntry {
  text: string
  severity: Severity
  replacement?: string | null
  note?: string
}
export interface ImportLine {
  line: number
  text: string
  reason: string
}
export interface ImportReport {
  added: string[]
  changed: { text: string; before: LexEntry; after: LexEntry }[]
  unchanged: number
  removed: string[]
  rejected: ImportLine[]
  adjusted: ImportLine[]
}

/** At the hub: a county article sent up for provincial review (省级审核). */
export interface ProvincialReview {
  county: string
  county_name: string
  article: number
  title: string
  revision: number
  level: number
  level_name: string
  chain_name: string
  round: number
  requested_at: string
  received_at: string
  decision: { approved: boolean; comment: string; by: string; at: string } | null
  subtitle?: string
  summary?: string
  byline?: string
  body?: string
  /** The cover image's URL at the hub, if the county sent it up. */
  cover?: string
}

/** A county's published article as the hub holds it. */
export interface CountyArticle {
  county: string
  id: number
  title: string
  status: string
  revision: number
  published_at: string | null
  received_at: string
  lsn: number
}

/** An article in the provincial shared pool (共享稿库). */
export interface SharedArticle {
  id: number
  origin: string
  origin_name: string
  source_article: number
  title: string
  subtitle: string
  summary: string
  body: string
  byline: string
  note: string
  shared_at: string
  shared_by: string
  adoptions: { county: string; article: number; by: string; at: string }[]
  /** Media the origin sent up with it, and how many are here (an adoption copies them). */
  media: number
  media_here: number
  /** Set when the hub took it back (it can no longer be adopted). */
  withdrawn_at: string | null
  withdrawn_by: string | null
  withdraw_reason: string | null
  received_at?: string
}

/** A county article as the hub holds it (`/api/v1/federation/counties/{id}/articles/{article}`). */
export interface CountyArticleFull {
  county: string
  county_name: string
  id: number
  title: string
  subtitle: string
  summary: string
  byline: string
  category: string
  tags: string[]
  status: string
  revision: number
  published_at: string | null
  received_at: string
  lsn: number
  /** Sanitized by the hub's allowlist. */
  body: string
  retraction_reason: string | null
}
