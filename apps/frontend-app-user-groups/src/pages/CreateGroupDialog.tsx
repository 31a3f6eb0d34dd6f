import { ActionRow, Alert, Button, Form, ModalDialog, StatefulButton } from '@openedx/paragon';
import { FormEvent, useState } from 'react';
import { useIntl } from 'react-intl';
import { useNavigate } from 'react-router-dom';
import { ApiError, call, Group } from '../api';
import { useLoad } from '../hooks';
import messages from '../messages';
import { criterionValue, CriterionRow, CriterionTypeView, needsValue } from './criteria';

type Kind = 'manual' | 'dynamic' | 'legacy';

export function CreateGroupDialog({
  courseKey,
  onClose,
  onCreated,
}: {
  courseKey: string;
  onClose: () => void;
  onCreated: (group: Group) => void;
}) {
  const intl = useIntl();
  const navigate = useNavigate();
  const [kind, setKind] = useState<Kind>('manual');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [collection, setCollection] = useState('');
  const [carryOver, setCarryOver] = useState(false);
  const [rows, setRows] = useState<CriterionRow[]>([{ type: '', operator: '', value: '' }]);
  const [legacyType, setLegacyType] = useState('legacy_cohort');
  const [legacyValue, setLegacyValue] = useState('');
  const [state, setState] = useState<'default' | 'pending'>('default');
  const [error, setError] = useState<ApiError | Error>();
  const catalogue = useLoad(() => call<{ results: CriterionTypeView[] }>('groups', '/criterion-types'), []);
  const types = (catalogue.data?.results ?? []).filter((t) => t.scopes.includes('course'));
  const dynamicTypes = types.filter((t) => !t.legacy_kind);
  const legacyTypes = types.filter((t) => t.legacy_kind);
  const typeOf = (id: string) => types.find((t) => t.id === id);

  const setRow = (i: number, change: Partial<CriterionRow>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));

  const criteria = () => {
    if (kind === 'dynamic')
      return rows
        .filter((r) => r.type)
        .map((r) => {
          const value = criterionValue(typeOf(r.type), r.operator, r.value);
          return { type: r.type, operator: r.operator, ...(value !== undefined ? { value } : {}) };
        });
    if (kind === 'legacy') {
      const config =
        legacyType === 'legacy_team'
          ? { teamset_id: legacyValue.trim() }
          : legacyType === 'legacy_enrollment_track'
            ? { mode: legacyValue.trim() }
            : {};
      return [{ type: legacyType, config }];
    }
    return [];
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setState('pending');
    setError(undefined);
    try {
      const group = await call<Group>('groups', '/groups', {
        method: 'POST',
        body: {
          scope_type: 'course',
          scope_key: courseKey,
          kind,
          name: name.trim(),
          ...(description.trim() ? { description: description.trim() } : {}),
          ...(collection.trim() ? { collection: collection.trim() } : {}),
          ...(kind !== 'manual' ? { criteria: criteria() } : {}),
          ...(kind === 'manual' && carryOver ? { carry_over_on_rerun: true } : {}),
        },
      });
      onCreated(group);
      navigate(`/groups/${group.id}`);
    } catch (err) {
      setError(err as Error);
      setState('default');
    }
  };

  const fieldErrors =
    (error instanceof ApiError ? (error.details.errors as Array<{ field?: string; message: string }>) : undefined) ??
    [];
  return (
    <ModalDialog
      title={intl.formatMessage(messages.createGroup)}
      isOpen
      onClose={onClose}
      hasCloseButton
      size="lg"
      isOverflowVisible={false}
    >
      <Form onSubmit={submit}>
        <ModalDialog.Header>
          <ModalDialog.Title>{intl.formatMessage(messages.createGroup)}</ModalDialog.Title>
        </ModalDialog.Header>
        <ModalDialog.Body>
          {error && (
            <Alert variant="danger" data-testid="create-error">
              {error.message}
              {fieldErrors.length > 0 && (
                <ul className="mb-0">
                  {fieldErrors.map((f, i) => (
                    <li key={i}>{typeof f === 'string' ? f : String((f as { message?: string }).message ?? '')}</li>
                  ))}
                </ul>
              )}
            </Alert>
          )}
          <Form.Group controlId="group-name">
            <Form.Label>{intl.formatMessage(messages.name)}</Form.Label>
            <Form.Control
              required
              value={name}
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => setName(e.target.value)}
            />
          </Form.Group>
          <Form.Group controlId="group-description">
            <Form.Label>{intl.formatMessage(messages.description)}</Form.Label>
            <Form.Control
              as="textarea"
              rows={2}
              value={description}
              onChange={(e: React.ChangeEvent<HTMLTextAreaElement>) => setDescription(e.target.value)}
            />
          </Form.Group>
          <Form.Group>
            <Form.Label as="legend">{intl.formatMessage(messages.kind)}</Form.Label>
            <Form.RadioSet
              name="kind"
              value={kind}
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => setKind(e.target.value as Kind)}
            >
              <Form.Radio value="manual">{intl.formatMessage(messages.kindManualLong)}</Form.Radio>
              <Form.Radio value="dynamic">{intl.formatMessage(messages.kindDynamicLong)}</Form.Radio>
              <Form.Radio value="legacy">{intl.formatMessage(messages.kindLegacyLong)}</Form.Radio>
            </Form.RadioSet>
          </Form.Group>
          {kind === 'dynamic' && (
            <fieldset className="border rounded p-3 mb-3" data-testid="criteria-builder">
              <legend className="h5 w-auto px-1">{intl.formatMessage(messages.criteria)}</legend>
              {rows.map((row, i) => {
                const type = typeOf(row.type);
                return (
                  <div className="d-flex flex-wrap align-items-end" key={i}>
                    <Form.Group controlId={`criterion-type-${i}`} className="mr-2">
                      <Form.Label>{intl.formatMessage(messages.criterionType)}</Form.Label>
                      <Form.Control
                        as="select"
                        value={row.type}
                        onChange={(e: React.ChangeEvent<HTMLSelectElement>) =>
                          setRow(i, {
                            type: e.target.value,
                            operator: typeOf(e.target.value)?.operators[0] ?? '',
                            value: '',
                          })
                        }
                      >
                        <option value="">{intl.formatMessage(messages.chooseOne)}</option>
                        {dynamicTypes.map((t) => (
                          <option key={t.id} value={t.id}>
                            {t.description ? `${t.id} (${t.description})` : t.id}
                          </option>
                        ))}
                      </Form.Control>
                    </Form.Group>
                    <Form.Group controlId={`criterion-operator-${i}`} className="mr-2">
                      <Form.Label>{intl.formatMessage(messages.operator)}</Form.Label>
                      <Form.Control
                        as="select"
                        value={row.operator}
                        disabled={!type}
                        onChange={(e: React.ChangeEvent<HTMLSelectElement>) => setRow(i, { operator: e.target.value })}
                      >
                        {(type?.operators ?? []).map((op) => (
                          <option key={op} value={op}>
                            {op}
                          </option>
                        ))}
                      </Form.Control>
                    </Form.Group>
                    {type && needsValue(row.operator) && (
                      <Form.Group controlId={`criterion-value-${i}`} className="mr-2">
                        <Form.Label>{intl.formatMessage(messages.value, { type: type.value_type })}</Form.Label>
                        {type.value_type === 'boolean' ? (
                          <Form.Control
                            as="select"
                            value={row.value}
                            onChange={(e: React.ChangeEvent<HTMLSelectElement>) => setRow(i, { value: e.target.value })}
                          >
                            <option value="true">true</option>
                            <option value="false">false</option>
                          </Form.Control>
                        ) : (
                          <Form.Control
                            type={type.value_type === 'date' && !row.operator.includes('in') ? 'date' : 'text'}
                            value={row.value}
                            onChange={(e: React.ChangeEvent<HTMLInputElement>) => setRow(i, { value: e.target.value })}
                          />
                        )}
                      </Form.Group>
                    )}
                    {rows.length > 1 && (
                      <Button variant="link" className="mb-3" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                        {intl.formatMessage(messages.removeCriterion)}
                      </Button>
                    )}
                  </div>
                );
              })}
              {rows.length < 3 && (
                <Button
                  variant="outline-primary"
                  size="sm"
                  onClick={() => setRows([...rows, { type: '', operator: '', value: '' }])}
                >
                  {intl.formatMessage(messages.addCriterion)}
                </Button>
              )}
            </fieldset>
          )}
          {kind === 'legacy' && (
            <div className="d-flex flex-wrap align-items-end">
              <Form.Group controlId="legacy-type" className="mr-2">
                <Form.Label>{intl.formatMessage(messages.legacyType)}</Form.Label>
                <Form.Control
                  as="select"
                  value={legacyType}
                  onChange={(e: React.ChangeEvent<HTMLSelectElement>) => setLegacyType(e.target.value)}
                >
                  {(legacyTypes.length ? legacyTypes.map((t) => t.id) : ['legacy_cohort']).map((id) => (
                    <option key={id} value={id}>
                      {id === 'legacy_cohort'
                        ? intl.formatMessage(messages.legacyCohort)
                        : id === 'legacy_team'
                          ? intl.formatMessage(messages.legacyTeam)
                          : id === 'legacy_enrollment_track'
                            ? intl.formatMessage(messages.legacyTrack)
                            : id}
                    </option>
                  ))}
                </Form.Control>
              </Form.Group>
              {legacyType !== 'legacy_cohort' && (
                <Form.Group controlId="legacy-value" className="mr-2">
                  <Form.Label>
                    {legacyType === 'legacy_team'
                      ? intl.formatMessage(messages.teamsetId)
                      : intl.formatMessage(messages.enrollmentMode)}
                  </Form.Label>
                  <Form.Control
                    value={legacyValue}
                    onChange={(e: React.ChangeEvent<HTMLInputElement>) => setLegacyValue(e.target.value)}
                  />
                </Form.Group>
              )}
              {legacyType === 'legacy_cohort' && (
                <p className="small text-muted">{intl.formatMessage(messages.cohortByName)}</p>
              )}
            </div>
          )}
          <Form.Group controlId="group-collection">
            <Form.Label>{intl.formatMessage(messages.collection)}</Form.Label>
            <Form.Control
              value={collection}
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => setCollection(e.target.value)}
            />
            <Form.Text>{intl.formatMessage(messages.collectionHelp)}</Form.Text>
          </Form.Group>
          {kind === 'manual' && (
            <Form.Checkbox
              checked={carryOver}
              onChange={(e: React.ChangeEvent<HTMLInputElement>) => setCarryOver(e.target.checked)}
            >
              {intl.formatMessage(messages.carryOver)}
            </Form.Checkbox>
          )}
        </ModalDialog.Body>
        <ModalDialog.Footer>
          <ActionRow>
            <ModalDialog.CloseButton variant="tertiary">{intl.formatMessage(messages.cancel)}</ModalDialog.CloseButton>
            <StatefulButton
              type="submit"
              state={state}
              labels={{ default: intl.formatMessage(messages.create), pending: intl.formatMessage(messages.creating) }}
            />
          </ActionRow>
        </ModalDialog.Footer>
      </Form>
    </ModalDialog>
  );
}
