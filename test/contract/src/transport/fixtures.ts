/** Messages sent each way by the ordering test. */
export const ORDER_COUNT = 1000;

/** Size of the large-message payload: well over any socket buffer, under the 1 MiB default. */
export const LARGE_PAYLOAD_BYTES = 512 * 1024;

/** How far over the server's frame limit the oversized message goes. */
export const OVERSIZE_MARGIN_BYTES = 16 * 1024;

/** A fixed ASCII text of exactly `bytes` bytes, varied so that a shifted chunk is noticed. */
export function largeText(bytes: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let text = '';
  for (let line = 0; text.length < bytes; line++) {
    text += `${line.toString().padStart(6, '0')}:${alphabet}\n`;
  }
  return text.slice(0, bytes);
}

/**
 * Text that tends to break encodings: astral emoji and ZWJ sequences, CJK, right-to-left
 * scripts, combining marks, control and separator characters, in values and in keys. No lone
 * surrogates: they are not valid UTF-8 and no text frame can carry them.
 */
export const UNICODE_MESSAGES: readonly object[] = [
  { type: 'unicode', text: 'héllo wörld, façade, naïve' },
  { type: 'unicode', text: '👩‍💻🎉🇩🇪👍🏽 𝄞 𠜎' },
  { type: 'unicode', text: '漢字かなカナ 한국어 中文测试' },
  { type: 'unicode', text: 'שלום مرحبا' },
  { type: 'unicode', text: 'e\u0301 a\u200bb \u2028\u2029 tab\there nul\u0000end "quoted" \\' },
  { type: 'unicode', ключ: 'значение', '🔑': '✓', 鍵: ['値', { 入れ子: '🪆' }] },
];
