import { CapturedLogger } from '../../test/support/captured-logger';
import { OutageNotice } from './outage-notice';

describe('OutageNotice', () => {
  it('warns once when an outage begins and logs once when it ends', () => {
    const logger = new CapturedLogger();
    const notice = new OutageNotice(logger);
    notice.recovered('back');
    expect(logger.logs).toEqual([]);

    for (let i = 0; i < 5; i++) notice.failed(`down ${i}`);
    expect(logger.warnings).toEqual(['down 0']);
    expect(notice.inOutage).toBe(true);

    notice.recovered('back');
    notice.recovered('back again');
    expect(logger.logs).toEqual(['back']);
    expect(notice.inOutage).toBe(false);

    notice.failed('down again');
    expect(logger.warnings).toEqual(['down 0', 'down again']);
  });
});
