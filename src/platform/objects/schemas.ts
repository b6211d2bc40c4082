import { Type } from 'typebox';

export const ObjectNameQuery = Type.Object(
  {
    object_name: Type.String({
      minLength: 1,
      description: 'name under the caller’s prefix; sub-folders allowed',
    }),
    owner: Type.Optional(Type.String({ description: 'admins only: act on another user’s prefix' })),
  },
  { additionalProperties: false },
);

export const Presigned = Type.Object({
  key: Type.String({ description: '<username>/<object_name>' }),
  url: Type.String(),
  expires_in: Type.Integer({ description: 'seconds the URL stays valid' }),
});

export const ListQuery = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({ description: 'under the caller’s prefix (admins: the whole bucket)' }),
    ),
  },
  { additionalProperties: false },
);

export const ObjectList = Type.Object({
  objects: Type.Array(
    Type.Object({
      key: Type.String(),
      size: Type.Integer(),
      last_modified: Type.String({ format: 'date-time' }),
    }),
  ),
});

export const BlobQuery = Type.Object(
  { expires: Type.String(), signature: Type.String() },
  { additionalProperties: false },
);

/** S3 event notification (AWS and MinIO): only the fields Conflux reads are described. */
export const S3Notification = Type.Object(
  {
    Records: Type.Optional(
      Type.Array(
        Type.Object(
          {
            eventName: Type.Optional(Type.String()),
            s3: Type.Optional(
              Type.Object(
                {
                  bucket: Type.Optional(Type.Object({ name: Type.String() }, { additionalProperties: true })),
                  object: Type.Optional(
                    Type.Object(
                      {
                        key: Type.String(),
                        size: Type.Optional(Type.Integer({ minimum: 0 })),
                        eTag: Type.Optional(Type.String()),
                      },
                      { additionalProperties: true },
                    ),
                  ),
                },
                { additionalProperties: true },
              ),
            ),
          },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  // The sender's format, not ours: its other fields (EventName, Key, userIdentity ...) are ignored.
  { additionalProperties: true },
);

export const WebhookReply = Type.Object({
  accepted: Type.Integer({ description: 'objects at least one subscriber wants' }),
  objects: Type.Array(Type.Object({ bucket: Type.String(), object: Type.String() })),
  subscribers: Type.Record(Type.String(), Type.Integer(), { description: 'objects accepted per subscriber' }),
});
