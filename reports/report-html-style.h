/*
 * report-html-style.h - the constant CSS and scripts of the HTML page,
 * kept apart from the writer so the page's look can change without
 * touching the code that escapes data. No user data ever goes in here.
 */
#ifndef REPORT_HTML_STYLE_H
#define REPORT_HTML_STYLE_H

/* Runs first: records script errors and console.error calls on <html> so
 * that a headless browser test can read them back from the DOM. */
static const char report_html_guard_js[] =
    "(function(){var d=document.documentElement,n=0,m=[];"
    "function rec(s){n++;m.push(String(s));"
    "d.setAttribute('data-console-errors',String(n));"
    "d.setAttribute('data-console-messages',m.join(' | '));}"
    "d.setAttribute('data-console-errors','0');"
    "window.addEventListener('error',function(e){"
    "rec(e.message||('resource error: '+(e.target&&e.target.tagName)));},true);"
    "document.addEventListener('securitypolicyviolation',function(e){"
    "rec('blocked load: '+e.blockedURI);});"
    "window.addEventListener('unhandledrejection',function(e){"
    "rec('unhandled rejection: '+e.reason);});"
    "var ce=console.error;console.error=function(){"
    "rec(Array.prototype.join.call(arguments,' '));"
    "return ce.apply(console,arguments);};})();";

/* Runs last: the "failures only" filter, and a marker that the page's own
 * script ran to its end. */
static const char report_html_main_js[] =
    "(function(){var b=document.getElementById('only-bad');"
    "if(b){b.addEventListener('change',function(){"
    "document.body.classList.toggle('only-bad',b.checked);});}"
    "document.documentElement.setAttribute('data-report-ready','1');})();";

static const char report_html_css[] =
    ":root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--muted:#57606a;"
    "--line:#d0d7de;--bg:#f6f8fa}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "margin:0 auto;max-width:1100px;padding:16px 24px;color:#1f2328}"
    "h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:0 0 6px}"
    "h3{font-size:14px;margin:14px 0 4px}"
    "code,pre{font:12px/1.4 ui-monospace,'DejaVu Sans Mono',monospace}"
    "pre{background:var(--bg);border:1px solid var(--line);padding:8px;"
    "overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-all}"
    ".meta{color:var(--muted)}.meta code{color:#1f2328}"
    ".badges span{display:inline-block;margin-right:10px;font-weight:600}"
    "table.matrix{border-collapse:collapse;margin:12px 0}"
    ".matrix th,.matrix td{border:1px solid var(--line);padding:4px 10px;"
    "text-align:left}.matrix thead th{background:var(--bg)}"
    ".matrix a{text-decoration:none;color:inherit}"
    ".v{font-weight:600;text-transform:uppercase;font-size:12px}"
    ".v-pass{color:var(--pass)}"
    ".v-fail,.v-timeout,.v-error,.v-interrupted{color:var(--fail)}"
    ".v-flaky,.v-skip,.v-inconclusive{color:var(--warn)}"
    "td.v-fail,td.v-timeout,td.v-error,td.v-interrupted{background:#ffebe9}"
    "td.v-flaky,td.v-skip,td.v-inconclusive{background:#fff8c5}"
    "td.v-pass{background:#dafbe1}"
    "article{border:1px solid var(--line);border-radius:6px;padding:12px 16px;"
    "margin:16px 0}article.bad{border-left:4px solid var(--fail)}"
    "article.flaky{border-left-color:#d4a72c}"
    "body.only-bad article.good,body.only-bad tr.good{display:none}"
    ".reason{font-weight:600;color:var(--fail)}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;"
    "margin:6px 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}"
    "svg.timeline{width:100%;height:auto;display:block;background:#fff}"
    ".lane-bg{fill:var(--bg)}.lane-bg.odd{fill:#fff}"
    ".lane-label{font:12px system-ui,sans-serif;fill:#1f2328}"
    ".axis line{stroke:var(--line)}.axis text{font:11px system-ui,sans-serif;"
    "fill:var(--muted)}"
    ".life{fill:#8c959f;opacity:.35}"
    ".mark-name{font:10px system-ui,sans-serif;fill:#57606a}"
    ".mark{stroke:#fff;stroke-width:1}"
    ".k-fork{fill:#8c959f}.k-online{fill:#0969da}.k-listening{fill:#1a7f37}"
    ".k-disconnect{fill:#bc4c00}.k-exit{fill:#1f2328}.k-message{fill:#8250df}"
    ".k-policy{fill:#1b7c83}.k-error{fill:#cf222e}.k-other{fill:#57606a}"
    ".fault{fill:#cf222e;stroke:#82071e;stroke-width:1.5}"
    ".failreq{stroke:#cf222e;stroke-width:2}"
    ".violation{fill:none;stroke:#cf222e;stroke-width:2.5}"
    ".expect-line{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:4 3}"
    ".expect-text{font:600 12px system-ui,sans-serif;fill:#cf222e}"
    ".legend{font-size:12px;color:var(--muted);margin:4px 0}"
    ".legend svg{vertical-align:middle}";

#endif
