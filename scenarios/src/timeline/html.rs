//! HTML text: escaping, and the page every report is written in (its style sheet and its
//! script inline: a report opens from a file, with no network).

/// Text for HTML, in an element or in a quoted attribute: `& < > " '` escaped, and control
/// characters (which HTML does not allow) shown as `\xNN`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `chars` characters, with `…` when it was longer.
pub fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A whole page: `title` (text) and `body` (HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#555;margin:2px 0}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;margin:4px 0}
.failed{margin:6px 0;padding-left:20px}.failed li{color:#a01f1b}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
.verdict{font-weight:bold;padding:1px 6px;border-radius:3px}
.v-ok,.o-pass{background:#c8ecd0}.v-FAILED,.v-FIXED\?,.o-fail{background:#f6c6c3}
.v-known,.o-known{background:#f9dcc0}.o-skip{background:#e4e4e4}
.legend{font-size:12px;color:#444;margin:4px 0}
.sw{width:12px;height:10px;margin:0 3px 0 8px;vertical-align:middle}
.controls{margin:8px 0}.controls button{margin-right:4px}
#timeline{user-select:none;cursor:grab;display:block}
#timeline line,#timeline rect{vector-effect:non-scaling-stroke;stroke-width:1}
#timeline line.instant{stroke-width:3}
.lane{font-weight:bold;font-size:12px}.row{font-size:11px;text-anchor:end}
.lanebg{fill:#eef1f5}.stripe{fill:#f7f7f7}.plotbg{fill:#fff}
.axis line{stroke:#ccc}.axis text{font-size:10px;fill:#444}
.good{fill:#2e9e4f;stroke:#2e9e4f}.fair{fill:#6cc070;stroke:#6cc070}.wait{fill:#e8c547;stroke:#e8c547}
.off{fill:#bbb;stroke:#999}.bad{fill:#d64541;stroke:#d64541}.mark{fill:#222;stroke:#222}
.pin{fill:#a02070;stroke:#a02070}.cmd{fill:#3b6ea8;stroke:#3b6ea8}.reply{fill:#7a5ea8;stroke:#7a5ea8}
.rep{fill:#666;stroke:#666}.recv{fill:#2e7d32;stroke:#2e7d32}.sent{fill:#c2185b;stroke:#c2185b}
.step{fill:#000;stroke:#000}
.ph-Starting{fill:#9b8ae6}.ph-BringingUp{fill:#e8c547}.ph-FlightMode{fill:#8fb3d9}
.ph-Connecting{fill:#f0a04b}.ph-Connected{fill:#2e9e4f}.ph-Pausing{fill:#cfcfcf}.ph-Restarting{fill:#d64541}
.led-Off{fill:#888}.led-Searching{fill:#e8c547}.led-Registered{fill:#6aa6e8}.led-Connected{fill:#2e9e4f}
.x-pass{fill:#c8ecd0;stroke:#2e9e4f}.x-fail{fill:#f6c6c3;stroke:#d64541}
.x-known{fill:#f6c6c3;stroke:#d64541;stroke-dasharray:4 2}.x-skip{fill:#e4e4e4;stroke:#999}
"#;

/// Zoom (wheel, buttons) and pan (drag) of the plot's `viewBox`, along the time axis only;
/// the axis' labels redrawn for the span shown; a dense row's ticks drawn one by one (from
/// the `ticks` data) instead of its bins once the span shown holds no more of them than the
/// plot has pixels; links that show a span (`data-from`, `data-to`, in seconds).
const SCRIPT: &str = r#"
(function(){
const svg=document.getElementById('timeline');if(!svg)return;
const plot=document.getElementById('plot'),axis=document.getElementById('axis');
const NS='http://www.w3.org/2000/svg';
const W=+plot.getAttribute('width'),H=+plot.getAttribute('height'),X=+plot.getAttribute('x');
const END=+svg.dataset.end,MIN=W*0.001/END;
let x0=0,w=W;
const steps=[0.001,0.002,0.005,0.01,0.02,0.05,0.1,0.2,0.5,1,2,5,10,15,30,60,120,300,600,900,1800,3600,7200,10800,21600,43200,86400,172800];
function label(t,step){
  if(END<3600)return (step<1?t.toFixed(Math.min(3,Math.ceil(-Math.log10(step)))):t.toFixed(0))+'s';
  const h=Math.floor(t/3600),m=Math.floor(t/60)%60,s=t-3600*h-60*m;
  let text=h+':'+String(m).padStart(2,'0');
  if(step<60)text+=':'+(step<1?s.toFixed(3).padStart(6,'0'):String(Math.round(s)).padStart(2,'0'));
  return text;
}
const dense=JSON.parse(document.getElementById('ticks').textContent).map((r,i)=>{
  let us=0;const at=r.t.map(d=>us+=d);const g=document.createElementNS(NS,'g');plot.append(g);
  return {r:r,at:at,g:g,bins:document.getElementById('bins-'+i),shown:null};});
function first(a,v){let lo=0,hi=a.length;while(lo<hi){const m=(lo+hi)>>1;if(a[m]<v)lo=m+1;else hi=m;}return lo;}
function secs(us){return Math.floor(us/1e6)+'.'+String(us%1e6).padStart(6,'0')+'s';}
function ticks(from,to){
  for(const d of dense){
    const lo=first(d.at,from*1e6),hi=first(d.at,to*1e6+1),key=hi-lo<=W?lo+':'+hi:null;
    if(key===d.shown)continue;
    d.shown=key;d.g.replaceChildren();d.bins.style.display=key?'none':'';
    if(!key)continue;
    for(let i=lo;i<hi;i++){
      const x=d.at[i]/1e6/END*W,line=document.createElementNS(NS,'line'),title=document.createElementNS(NS,'title');
      line.setAttribute('class',d.r.paints[d.r.p[i]]);line.setAttribute('x1',x);line.setAttribute('x2',x);
      line.setAttribute('y1',d.r.y1);line.setAttribute('y2',d.r.y2);
      title.textContent=secs(d.at[i])+' '+d.r.whats[d.r.w[i]];line.append(title);d.g.append(line);
    }
  }
}
function draw(){
  w=Math.min(W,Math.max(MIN,w));x0=Math.min(W-w,Math.max(0,x0));
  plot.setAttribute('viewBox',x0+' 0 '+w+' '+H);
  const from=x0/W*END,span=w/W*END;
  ticks(from,from+span);
  const step=steps.find(s=>s>=span/10)||steps[steps.length-1];
  axis.replaceChildren();axis.setAttribute('class','axis');
  for(let t=Math.ceil(from/step)*step;t<=from+span+1e-9;t+=step){
    const px=X+(t-from)/span*W;
    const line=document.createElementNS(NS,'line');
    line.setAttribute('x1',px);line.setAttribute('x2',px);line.setAttribute('y1',16);line.setAttribute('y2',H);
    const text=document.createElementNS(NS,'text');
    text.setAttribute('x',px+2);text.setAttribute('y',12);text.textContent=label(t,step);
    axis.append(line,text);
  }
}
function zoom(k,px){const u=x0+px*w/W,nw=Math.min(W,Math.max(MIN,w*k));x0=u-px*nw/W;w=nw;draw();}
svg.addEventListener('wheel',e=>{
  const px=e.clientX-svg.getBoundingClientRect().left-X;if(px<0||px>W)return;
  e.preventDefault();zoom(Math.exp(e.deltaY*0.0015),px);},{passive:false});
let drag=null;
svg.addEventListener('pointerdown',e=>{drag={x:e.clientX,x0:x0};svg.setPointerCapture(e.pointerId);});
svg.addEventListener('pointermove',e=>{if(drag){x0=drag.x0-(e.clientX-drag.x)*w/W;draw();}});
svg.addEventListener('pointerup',()=>{drag=null;});
svg.addEventListener('dblclick',()=>{x0=0;w=W;draw();});
document.querySelectorAll('[data-zoom]').forEach(b=>b.addEventListener('click',()=>{
  const k=+b.dataset.zoom;if(k===0){x0=0;w=W;draw();}else zoom(k,W/2);}));
document.querySelectorAll('[data-from]').forEach(a=>a.addEventListener('click',e=>{
  e.preventDefault();const f=+a.dataset.from,t=+a.dataset.to,pad=Math.max((t-f)*0.1,0.5);
  x0=(f-pad)/END*W;w=(t-f+2*pad)/END*W;draw();svg.scrollIntoView({block:'nearest'});}));
draw();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        let check = |text: &str, want: &str| assert_eq!(escape(text), want, "{text:?}");
        check("plain", "plain");
        check(
            "<b>\"a\" & 'b'</b>",
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;",
        );
        check("a\u{1}b\u{7f}", "a\\x01b\\x7f");
        check("line\nnext\ttab", "line\nnext\ttab");
        check("héllo ✓", "héllo ✓");
    }

    #[test]
    fn long_texts_are_cut_on_a_character() {
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hé", 2), "hé");
    }
}
