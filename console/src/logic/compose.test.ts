import { describe, expect, it } from 'vitest';
import { attachmentBlocker, charCount, counterLabel, declaredType, sendBlocker } from './compose';

describe('the n / 4096 counter', () => {
  it('counts characters, an emoji as one', () => {
    expect(charCount('hola')).toBe(4);
    expect(charCount('👋🏽')).toBe(2);
    expect(counterLabel('¡Hola!')).toBe('6 / 4096');
  });
  it('allows exactly 4096 characters and refuses 4097', () => {
    expect(sendBlocker('a'.repeat(4096))).toBeNull();
    expect(sendBlocker('a'.repeat(4097))).toMatch(/1 characters over 4096/);
  });
  it('refuses an empty message', () => {
    expect(sendBlocker('   ')).not.toBeNull();
  });
});

describe('attachment checks before upload', () => {
  it.each(['photo.PNG', 'clip.mp4', 'terms.pdf', 'notes.txt'])('accepts %s', (name) =>
    expect(attachmentBlocker(name, 1000)).toBeNull(),
  );
  it('refuses other types', () => {
    expect(attachmentBlocker('tool.exe', 10)).toMatch(/\.exe cannot be sent/);
    expect(attachmentBlocker('README', 10)).toMatch(/cannot be sent/);
  });
  it('refuses files over 10 MB', () => {
    expect(attachmentBlocker('big.pdf', 10 * 1024 * 1024)).toBeNull();
    expect(attachmentBlocker('big.pdf', 10 * 1024 * 1024 + 1)).toMatch(/10 MB/);
  });
});

describe('the type an upload is declared as when the browser gives none', () => {
  it.each([
    ['terms.PDF', 'application/pdf'],
    ['clip.mov', 'video/quicktime'],
    ['notes.txt', 'text/plain'],
    ['tool.exe', 'application/octet-stream'],
    ['a.constructor', 'application/octet-stream'],
  ])('%s is %s', (name, type) => expect(declaredType(name)).toBe(type));
});
