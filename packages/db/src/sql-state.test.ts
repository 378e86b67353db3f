import { describe, expect, it } from 'vitest';
import { sqlStateOf } from './sql-state.js';

describe('sqlStateOf', () => {
  it("reads node-postgres' code and the SQLSTATE inside Prisma's P2010", () => {
    expect(sqlStateOf({ code: '23505' })).toBe('23505');
    const refused = {
      code: 'P2010',
      clientVersion: '7.10.0',
      meta: { driverAdapterError: { cause: { originalCode: '22P02', kind: 'InvalidInputValue' } } },
    };
    expect(sqlStateOf(refused)).toBe('22P02');
  });

  it("never takes a Prisma error's own code for a SQLSTATE", () => {
    expect(sqlStateOf({ code: 'P2028', clientVersion: '7.10.0', meta: {} })).toBeUndefined();
    expect(sqlStateOf(new Error('connection terminated'))).toBeUndefined();
    expect(sqlStateOf(null)).toBeUndefined();
  });
});
