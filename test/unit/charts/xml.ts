// A strict little XML reader for the tests: enough of XML 1.0 to prove the
// charts are well formed (nesting, quoting, entities, one root) and to query them.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: (XmlElement | string)[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string, where: string): string {
  if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) throw new Error(`Bare & in ${where}: ${text}`);
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : (ENTITIES[e] as string),
  );
}

/** Parses an XML document (no DOCTYPE, comments or CDATA: the charts have none); throws where it is not well formed. */
export function parseXml(xml: string): XmlElement {
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/y;
  const attribute = /([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let at = 0;
  while (at < xml.length) {
    token.lastIndex = at;
    const m = token.exec(xml);
    if (!m) throw new Error(`Not well formed at ${at}: ${xml.slice(at, at + 60)}`);
    at = token.lastIndex;
    const [, closing, name, attrs, selfClosing, text] = m;
    if (text !== undefined) {
      if (stack.length === 0) {
        if (text.trim()) throw new Error(`Text outside the root: ${text}`);
        continue;
      }
      stack.at(-1)?.children.push(decode(text, 'text'));
      continue;
    }
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const element: XmlElement = { name: name as string, attributes: {}, children: [] };
    for (const a of (attrs as string).matchAll(attribute)) {
      const key = a[1] as string;
      if (key in element.attributes) throw new Error(`Attribute ${key} twice on <${name}>`);
      element.attributes[key] = decode(a[2] ?? a[3] ?? '', `attribute ${key}`);
    }
    if (stack.length) stack.at(-1)?.children.push(element);
    else if (root) throw new Error('More than one root element');
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length) throw new Error(`<${stack.at(-1)?.name}> is never closed`);
  if (!root) throw new Error('No root element');
  return root;
}

/** Every element under (and including) `element`, in document order. */
export function descendants(element: XmlElement): XmlElement[] {
  return [element, ...element.children.flatMap((c) => (typeof c === 'string' ? [] : descendants(c)))];
}

export function textOf(element: XmlElement): string {
  return element.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

/** An attribute of the element or, as SVG inherits it, of its nearest ancestor that has it. */
export function inherited(root: XmlElement, target: XmlElement, name: string): string | undefined {
  const path = (from: XmlElement): XmlElement[] | undefined => {
    if (from === target) return [from];
    for (const c of from.children) {
      if (typeof c === 'string') continue;
      const rest = path(c);
      if (rest) return [from, ...rest];
    }
    return undefined;
  };
  return (path(root) ?? [])
    .reverse()
    .map((e) => e.attributes[name])
    .find((v) => v !== undefined);
}
