import { describe, expect, it } from 'vitest';
import { fieldForError } from './fieldErrors';

const FIELDS = ['name', 'role', 'queues', 'max_concurrent', 'id'];

describe('validation errors at the field', () => {
  it('finds the field a message names', () => {
    expect(fieldForError('max_concurrent must be 1 to 100', FIELDS)).toBe('max_concurrent');
    expect(fieldForError('name must be 1 to 200 characters', FIELDS)).toBe('name');
  });
  it('does not take a field name inside another word', () => {
    expect(fieldForError('display_phone_number must be 1 to 200 characters', ['name'])).toBeNull();
  });
  it('uses hints for messages that name no field', () => {
    expect(fieldForError('no queue sales; create it first', FIELDS, { queues: /no queue/ })).toBe(
      'queues',
    );
  });
  it('leaves other messages to the form', () => {
    expect(fieldForError('something else', FIELDS)).toBeNull();
  });
});
