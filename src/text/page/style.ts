/**
 * The status window's stylesheet, served as `/app.css`: readable on a phone
 * (one column, large touch targets) and on a desk screen (company cards side
 * by side), light and dark following the system, no external fonts or images.
 */
export const PAGE_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --card: #ffffff; --line: #d8dde3;
  --ok-bg: #e6f4ea; --ok-fg: #1e6b35; --bad-bg: #fde8e8; --bad-fg: #a4161a;
  --warn-bg: #fff4d6; --warn-fg: #7a5200; --accent: #0b5cad;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181c; --fg: #e8eaed; --muted: #a0a8b3; --card: #1f2328; --line: #343a42;
    --ok-bg: #16321f; --ok-fg: #8fd6a4; --bad-bg: #3b1718; --bad-fg: #ff9b9b;
    --warn-bg: #3a2f12; --warn-fg: #f2cf73; --accent: #7db4f0;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; padding: 0 0 2rem; background: var(--bg); color: var(--fg);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
body.stale main { opacity: 0.6; }
header.top { padding: 0.75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
header.top h1 { margin: 0 auto; font-size: 1.3rem; max-width: 70rem; }
.meta { margin: 0.25rem auto 0; max-width: 70rem; color: var(--muted); font-size: 0.9rem; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; align-items: center; }
.meta a { color: var(--accent); margin-left: auto; }
.conn:empty { display: none; }
.conn { padding: 0.05rem 0.5rem; border-radius: 1rem; font-weight: 600; }
.conn.live { background: var(--ok-bg); color: var(--ok-fg); }
.conn.lost { background: var(--warn-bg); color: var(--warn-fg); }
.lost { margin: 0; padding: 0.6rem 1rem; background: var(--warn-bg); color: var(--warn-fg); font-weight: 600; }
.lost[hidden] { display: none; }
main { max-width: 70rem; margin: 0 auto; padding: 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.25rem 0 0.5rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.5rem; }
.quiet, .folder-line, .mailer { color: var(--muted); }
.folder-line, .mailer { margin: 0.25rem 0; font-size: 0.9rem; overflow-wrap: anywhere; }
.mailer.stopped, .warn-line { color: var(--warn-fg); }
.alerts { margin: 1rem 0; padding: 0.75rem 1rem; border-radius: 0.5rem; font-weight: 600; }
.alerts.ok { background: var(--ok-bg); color: var(--ok-fg); }
.alerts.bad { background: var(--bad-bg); color: var(--bad-fg); }
.alerts h2 { margin: 0 0 0.25rem; font-size: 1.1rem; }
.alerts ul { margin: 0; padding-left: 1.2rem; font-weight: 400; }
.alerts li { margin: 0.25rem 0; }
.folder { border-top: 1px solid var(--line); margin-top: 1rem; }
.folder:first-of-type { border-top: 0; margin-top: 0; }
.companies { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); }
.company, .order { background: var(--card); border: 1px solid var(--line); border-radius: 0.5rem; padding: 0.75rem 1rem; }
.company h3 { margin: 0 0 0.5rem; overflow-wrap: anywhere; }
.counts { display: grid; grid-template-columns: repeat(5, 1fr); gap: 0.25rem; margin: 0; text-align: center; }
.counts .field { display: flex; flex-direction: column-reverse; justify-content: flex-end; }
.counts dt { font-size: 0.75rem; color: var(--muted); }
.counts dd { margin: 0; font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.counts .warn dd { color: var(--warn-fg); }
.counts .bad dd { color: var(--bad-fg); }
.order { margin: 0 0 0.75rem; }
.order.failed { border-left: 0.35rem solid var(--bad-fg); }
.order.deferred { border-left: 0.35rem solid var(--warn-fg); }
.order header { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; align-items: baseline; margin-bottom: 0.4rem; }
.order .id { font-family: ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.company-name { color: var(--muted); }
.order dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.75rem; }
.order .field { display: contents; }
.order dt { color: var(--muted); }
.order dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.order .reason dd { font-weight: 600; }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem; margin-top: 0.6rem; }
button.retry {
  font: inherit; font-weight: 600; min-height: 2.75rem; padding: 0.4rem 1.2rem; border-radius: 0.4rem;
  border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer;
}
button.retry:disabled { opacity: 0.6; cursor: progress; }
button.retry:focus-visible, summary:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.answer { margin: 0; }
.answer.ok { color: var(--ok-fg); }
.answer.bad { color: var(--bad-fg); }
details.timeline { margin-top: 0.6rem; }
details.timeline summary { cursor: pointer; color: var(--accent); min-height: 2rem; }
details.timeline pre {
  margin: 0.4rem 0 0; padding: 0.6rem; background: var(--bg); border-radius: 0.4rem;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.85rem; max-height: 24rem; overflow: auto;
}
.retried ul { list-style: none; padding: 0; margin: 0; }
.retried-order { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; padding: 0.5rem 0; border-bottom: 1px solid var(--line); }
.retried-order .outcome { font-weight: 600; }
.retried-order.sent .outcome { color: var(--ok-fg); }
.retried-order.failed .outcome { color: var(--bad-fg); }
.retried-order.deferred .outcome { color: var(--warn-fg); }
.retried-order .message { color: var(--muted); flex-basis: 100%; }
@media (max-width: 30rem) {
  .counts { grid-template-columns: repeat(3, 1fr); }
  .order dl { grid-template-columns: 1fr; }
  .order dt { margin-top: 0.3rem; font-size: 0.85rem; }
}
`;
