// Text for a terminal or a log line: file names and messages come from repositories and
// requests, so a newline in one must not start a fake line and an escape sequence must
// not drive the terminal. Control characters (C0, DEL, C1) and the Unicode bidi controls
// that reorder what is shown are written as visible escapes.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `a\nb` → `a\\nb`, ESC → `\\x1b`, U+202E → `\\u202e`; everything else unchanged. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
