import { InvalidLimitError } from './errors';
import { resolveLimit, type LimitSource } from './limit-source';

/** Awaits `work` and returns its rejection, failing the test when it resolves. */
async function rejectionOf(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('resolveLimit', () => {
  describe('precedence', () => {
    const map: LimitSource = { flux: 3, sora: null, free: 0 };

    it('prefers the explicit limit over the source and the default', async () => {
      expect(await resolveLimit('flux', 7, map, 20)).toBe(7);
      expect(await resolveLimit('flux', 7, () => 3, 20)).toBe(7);
    });

    it('lets an explicit null or 0 mean unlimited even when the source has a limit', async () => {
      expect(await resolveLimit('flux', null, map, 20)).toBeNull();
      expect(await resolveLimit('flux', 0, map, 20)).toBeNull();
    });

    it('uses the map when there is no explicit limit', async () => {
      expect(await resolveLimit('flux', undefined, map, 20)).toBe(3);
    });

    it('takes a null in the map as unlimited, not as missing', async () => {
      expect(await resolveLimit('sora', undefined, map, 20)).toBeNull();
    });

    it('falls through to the default for a model the map does not name', async () => {
      expect(await resolveLimit('other', undefined, map, 20)).toBe(20);
    });

    it('does not read inherited properties of the map as limits', async () => {
      expect(await resolveLimit('toString', undefined, map, 4)).toBe(4);
      expect(await resolveLimit('constructor', undefined, {}, 5)).toBe(5);
    });

    it('is unlimited when nothing gives a limit', async () => {
      expect(await resolveLimit('other', undefined, map, undefined)).toBeNull();
      expect(await resolveLimit('other', undefined, undefined, undefined)).toBeNull();
      expect(await resolveLimit('other', undefined, undefined, null)).toBeNull();
    });

    it('uses the default when there is no source', async () => {
      expect(await resolveLimit('other', undefined, undefined, 9)).toBe(9);
    });
  });

  describe('a function source', () => {
    it('is asked with the model name (sync)', async () => {
      const source = jest.fn((model: string) => (model === 'flux' ? 2 : undefined));
      expect(await resolveLimit('flux', undefined, source, 20)).toBe(2);
      expect(source).toHaveBeenCalledWith('flux');
    });

    it('may answer asynchronously, as a database would', async () => {
      const source = async (model: string) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return model.length;
      };
      expect(await resolveLimit('abcd', undefined, source, 20)).toBe(4);
    });

    it('falls through to the default when it answers undefined (sync and async)', async () => {
      expect(await resolveLimit('x', undefined, () => undefined, 11)).toBe(11);
      expect(await resolveLimit('x', undefined, () => Promise.resolve(undefined), 12)).toBe(12);
    });

    it('can answer unlimited with null or 0', async () => {
      expect(await resolveLimit('x', undefined, () => null, 11)).toBeNull();
      expect(await resolveLimit('x', undefined, () => Promise.resolve(0), 11)).toBeNull();
    });

    it('is not asked when an explicit limit is given', async () => {
      const source = jest.fn(() => 1);
      await resolveLimit('flux', 5, source, undefined);
      expect(source).not.toHaveBeenCalled();
    });

    it('passes its own failure through untouched', async () => {
      const failure = new Error('limits table unreachable');
      const error = await rejectionOf(
        resolveLimit('flux', undefined, () => Promise.reject(failure), 1),
      );
      expect(error).toBe(failure);
    });
  });

  describe('normalisation', () => {
    it('turns 0 into null wherever it comes from', async () => {
      expect(await resolveLimit('m', 0, undefined, undefined)).toBeNull();
      expect(await resolveLimit('m', undefined, { m: 0 }, 5)).toBeNull();
      expect(await resolveLimit('m', undefined, () => 0, 5)).toBeNull();
      expect(await resolveLimit('m', undefined, undefined, 0)).toBeNull();
    });

    it('keeps positive limits as they are', async () => {
      expect(await resolveLimit('m', 1, undefined, undefined)).toBe(1);
      expect(await resolveLimit('m', undefined, undefined, 1)).toBe(1);
    });
  });

  describe('bad values', () => {
    it.each<[string, unknown]>([
      ['a negative number', -1],
      ['a fraction', 1.5],
      ['a string', '3'],
      ['NaN', NaN],
    ])('rejects %s from the function, naming the model and the source', async (_, bad) => {
      const error = await rejectionOf(resolveLimit('flux', undefined, () => bad as number, 2));
      expect(error).toBeInstanceOf(InvalidLimitError);
      expect(error.message).toContain('model "flux"');
      expect(error.message).toContain('the limits option');
      expect((error as InvalidLimitError).model).toBe('flux');
      expect((error as InvalidLimitError).value).toBe(bad);
    });

    it('rejects a bad value in the map', async () => {
      const error = await rejectionOf(resolveLimit('flux', undefined, { flux: -2 }, 2));
      expect(error).toBeInstanceOf(InvalidLimitError);
      expect(error.message).toContain('model "flux" (from the limits option)');
      expect(error.message).toContain('-2 (number)');
    });

    it.each<[string, unknown]>([
      ['a negative number', -1],
      ['a fraction', 0.5],
      ['a string', '2'],
    ])('rejects %s as defaultLimit when it is used, naming the option', async (_, bad) => {
      const error = await rejectionOf(resolveLimit('flux', undefined, {}, bad as number));
      expect(error).toBeInstanceOf(InvalidLimitError);
      expect(error.message).toContain('model "flux" (from the defaultLimit option)');
      expect((error as InvalidLimitError).value).toBe(bad);
    });

    it('rejects a bad explicit limit, naming the argument', async () => {
      const error = await rejectionOf(resolveLimit('flux', -1, undefined, undefined));
      expect(error).toBeInstanceOf(InvalidLimitError);
      expect(error.message).toContain('model "flux" (from the limit argument)');
      expect((error as InvalidLimitError).source).toBe('the limit argument');
    });
  });
});
