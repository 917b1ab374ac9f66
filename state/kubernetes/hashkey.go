package kubernetes

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ansflow/ansflow/state"
)

// partKey labels the Secret holding the workspace's hash key.
const partKey = "key"

var _ state.HashKeyer = (*Store)(nil)

func (s *Store) keyName() string { return "ansflow-key-" + s.name + "." + s.key }

// HashKey returns the workspace's hash key, kept in a Secret of its own
// (ansflow-key-<name>.<workspace>) apart from the state's Secrets, and
// creates it the first time. Who may read the state need not be allowed
// to read the key.
func (s *Store) HashKey(ctx context.Context) ([]byte, error) {
	secrets := s.client.CoreV1().Secrets(s.namespace)
	for range 2 {
		obj, err := secrets.Get(ctx, s.keyName(), metav1.GetOptions{})
		if err == nil {
			key, derr := state.DecodeHashKey(string(obj.Data["key"]))
			if derr != nil {
				return nil, fmt.Errorf("the hash key in Secret %s/%s is damaged: %v. Delete the Secret to make a new one; "+
					"the steps whose inputs hold a sensitive value then run once more", s.namespace, s.keyName(), derr)
			}
			return key, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, s.apiError("reading the hash key of", err)
		}
		_, text := state.NewHashKey()
		_, err = secrets.Create(ctx, s.secret(s.keyName(), partKey, 0, false, map[string][]byte{"key": []byte(text)}), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, s.apiError("creating the hash key of", err)
		}
	}
	return nil, fmt.Errorf("the hash key Secret %s/%s keeps disappearing; is something deleting it?", s.namespace, s.keyName())
}
