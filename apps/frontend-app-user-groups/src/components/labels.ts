import type { IntlShape, MessageDescriptor } from 'react-intl';
import messages from '../messages';

/** The API's codes in words a course team reads; a code this page does not know is shown as it is. */
function label(intl: IntlShape, table: Record<string, MessageDescriptor>, code: string): string {
  return table[code] ? intl.formatMessage(table[code]) : code;
}

export const kindLabel = (intl: IntlShape, kind: string) =>
  label(intl, { manual: messages.kindManual, dynamic: messages.kindDynamic, legacy: messages.kindLegacy }, kind);

export const resultLabel = (intl: IntlShape, result: string) =>
  label(
    intl,
    {
      added: messages.resultAdded,
      already_member: messages.resultAlreadyMember,
      unknown: messages.resultUnknown,
      refused: messages.resultRefused,
      removed: messages.resultRemoved,
      not_member: messages.resultNotMember,
    },
    result,
  );

export const originLabel = (intl: IntlShape, origin: string) =>
  label(
    intl,
    {
      api: messages.originApi,
      csv: messages.originCsv,
      criteria: messages.originCriteria,
      legacy: messages.originLegacy,
      reconciliation: messages.originReconciliation,
    },
    origin,
  );
